"""The single Definitions entry point: the Dagster UI, `dg`, the daemon and `factledger run` all load this."""
from __future__ import annotations

import dagster as dg

import assets
from orchestration.executors import default_executor
from orchestration.jobs import refresh_job
from orchestration.loggers import progress_logger
from orchestration.resources import LakeResource, RawFilesResource
from orchestration.schedules import daily_refresh
from orchestration.sensors import raw_files_sensor

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets),
    asset_checks=dg.load_asset_checks_from_package_module(assets),
    jobs=[refresh_job],
    schedules=[daily_refresh],
    sensors=[raw_files_sensor],
    resources={"lake": LakeResource(), "raw": RawFilesResource()},
    loggers={"console": progress_logger},
    # In-process by default (every run: sensor, schedule, UI, `factledger run`); Celery workers when
    # FACTLEDGER_EXECUTOR=celery on a Postgres-backed instance. See orchestration/executors.py.
    executor=default_executor(),
)
