"""Cron jobs on Restate: each job a virtual object that re-schedules itself."""
