"""English of the transfer pages' strings."""

EN = {
    "儿童迁移": "Transfers", "迁入申请": "Incoming transfers", "迁出申请": "Outgoing transfers", "迁出": "Transfer out",
    "迁出村": "From village", "迁入村": "To village", "申请时间": "Requested at", "接收": "Accept", "拒绝": "Reject",
    "撤回": "Cancel", "没有迁移申请": "No transfers", "迁入村(居)代码": "Receiving village code",
    "迁移原因": "Reason", "提交迁移申请": "Request the transfer", "待处理": "Pending", "已接收": "Accepted",
    "已拒绝": "Rejected", "已撤回": "Cancelled",
}
