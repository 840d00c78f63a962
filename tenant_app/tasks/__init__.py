"""Tasks: a target unit's copy of a campaign — answering, census confirmation, review and the timeline."""
