"""My account: changing my own password, and the forced change after an admin chose it."""
