"""English of the account pages' strings."""

EN = {
    "修改密码": "Change password",
    "当前密码": "Current password",
    "确认新密码": "Confirm the new password",
    "管理员为您设置了初始密码，请先设置您自己的密码。": "An administrator set your password: choose your own before "
                                                      "continuing.",
    "密码至少 8 位，须同时包含字母和数字。": "At least 8 characters, mixing letters and digits.",
}
