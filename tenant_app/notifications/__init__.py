"""The notification centre: reminders, returned and approved tasks, transfers, for my unit or for me."""
