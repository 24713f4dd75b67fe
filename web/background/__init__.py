"""Work done outside requests: RQ jobs, the periodic schedule, notification mail."""
