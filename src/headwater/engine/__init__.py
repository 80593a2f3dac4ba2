"""Background processes: the scheduler (due runs from flow schedules) and workers (leased runs)."""
