"""Figures per unit (roll-ups of the child records, visits, tasks and staff), their history, the stats API."""
