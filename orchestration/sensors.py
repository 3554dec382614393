"""The raw-files sensor: a run of `refresh` for every new, changed or removed file under raw/.

Each tick stats every file under the raw folder (the `raw` resource: $FACTLEDGER_RAW or the
checkout's raw/), hashes only those whose size or mtime moved, and compares the content hashes with
the state kept in the sensor's cursor (factledger/watch.py). No change: no run. A change: one run
request whose run key is derived from the hashes of what changed, so the same change never runs
twice, even if a tick is evaluated again after a crash.
"""
from __future__ import annotations

import os

import dagster as dg

from factledger import watch
from orchestration.jobs import refresh_job
from orchestration.resources import RawFilesResource

INTERVAL_ENV = "FACTLEDGER_SENSOR_INTERVAL"
DEFAULT_INTERVAL_SECONDS = 30
# Runs launched by the daemon carry this tag; dagster.yaml lets one such run be in progress at a time.
MAX_TAG_PATHS = 20


def interval_seconds() -> int:
    return int(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_SECONDS)


def change_tags(changes: watch.Changes) -> dict[str, str]:
    paths = changes.paths
    listed = ", ".join(paths[:MAX_TAG_PATHS]) + (f", ... ({len(paths) - MAX_TAG_PATHS} more)" if len(paths) > MAX_TAG_PATHS else "")
    return {
        "factledger/trigger": "raw-files",
        "factledger/changes": changes.summary(),
        "factledger/changed_paths": listed,
    }


@dg.sensor(
    name="raw_files_sensor",
    job=refresh_job,
    minimum_interval_seconds=interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a `refresh` run when files under raw/ are added, changed (by SHA-256) or "
    f"removed. Interval: ${INTERVAL_ENV} seconds (default {DEFAULT_INTERVAL_SECONDS}).",
)
def raw_files_sensor(context: dg.SensorEvaluationContext, raw: RawFilesResource):
    root = raw.root
    if not root.is_dir():
        return dg.SkipReason(f"raw folder {root} does not exist")
    previous = watch.decode_cursor(context.cursor)
    seen = watch.observe(root, previous)
    if not seen.changes:
        if seen.state.files != previous.files:  # touched files: keep their new mtimes
            context.update_cursor(watch.encode_cursor(seen.state))
        return dg.SkipReason(f"no change under {root} ({seen.stats.files} files, {seen.stats.hashed} re-hashed)")
    context.log.info(f"{seen.changes.summary()} under {root}: requesting run {seen.run_key}")
    cursor = watch.encode_cursor(seen.state)
    # Returning the result with its cursor lets Dagster store the cursor with the run request in one tick.
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=seen.run_key, tags=change_tags(seen.changes))],
        cursor=cursor,
    )
