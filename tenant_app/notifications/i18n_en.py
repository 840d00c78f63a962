"""English of the notification centre's strings."""

EN = {
    "通知": "Notifications",
    "通知中心": "Notification centre",
    "未读": "Unread",
    "已读": "Read",
    "全部标为已读": "Mark all read",
    "标为已读": "Mark read",
    "查看": "Open",
    "暂无通知": "No notifications",
    "条未读": "unread",
    "催办": "Reminder",
    "任务退回": "Task returned",
    "任务通过": "Task approved",
    "迁入申请": "Transfer request",
    "迁移结果": "Transfer decided",
    "发送人": "From",
}
