"""Printable pages: a child's whole file (一人一档) and a task's answer, one page each with print CSS."""
