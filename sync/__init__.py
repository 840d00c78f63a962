"""Background work: jobs on RQ (or inline without Redis), each with an explicit tenant scope."""
