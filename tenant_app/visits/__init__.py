"""Visits (走访): home visits to a child, visit intervals per province, and the due / overdue list."""
