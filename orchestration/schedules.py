"""The daily schedule: refresh and republish once a day, whatever the sensor saw.

A safety net for what a file sensor cannot notice (a missed tick while the daemon was down is
caught by the sensor's next tick anyway; this also re-runs every check daily against the lake).
"""
from __future__ import annotations

import dagster as dg

from orchestration.jobs import refresh_job

DAILY_CRON = "0 6 * * *"
TIMEZONE = "UTC"


@dg.schedule(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule=DAILY_CRON,
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=f"Refresh and republish every day at {DAILY_CRON} ({TIMEZONE}).",
)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time
    # One run per scheduled day: evaluating the same tick again does not launch a second run.
    return dg.RunRequest(
        run_key=f"daily-{when:%Y-%m-%d}",
        tags={"factledger/trigger": "schedule"},  # the writer tags are the job's own
    )
