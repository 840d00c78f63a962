"""`shouhu bench load`: throughput of the production stack under a mixed workload."""
