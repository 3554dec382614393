"""The single Definitions entry point: the Dagster UI, `dg`, the daemon and `factledger run` all load this."""
from __future__ import annotations

import dagster as dg

import assets
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
    # Lake writers are serialised by the "lake" pool anyway; a process per step (the default) only
    # adds 8-20 s of start-up to each of ~25 steps on a 2-core machine. Applies to every run:
    # sensor, schedule, UI materialisations and `factledger run`.
    executor=dg.in_process_executor,
)
