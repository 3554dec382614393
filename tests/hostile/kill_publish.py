"""Helper for test_matrix's kill trials: publish (and export) the warehouse given, SIGKILLing this
process at the named step boundary. Plain functions, as assets/publish.py calls them.

    python -m tests.hostile.kill_publish WAREHOUSE BOUNDARY
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import sys
from pathlib import Path

from factledger import catalog, export, lake, publish, versions


def fake_checks(run_id: str, n: int = 19) -> list[dict]:
    now = dt.datetime(2026, 1, 1)
    return [{"run_id": run_id, "asset_key": "articles", "check_name": f"check_{i:02d}", "passed": True, "severity": "ERROR",
             "blocking": True, "failure_count": 0, "rows_checked": 1, "description": None, "evaluated_at": now}
            for i in range(n)]


def publish_and_export(warehouse: Path, run_id: str) -> publish.Outcome:
    """What the dataset_version asset does."""
    publish.remove_stale_exports(export.exports_dir(warehouse))
    with lake.connect(warehouse) as con:
        outcome = publish.publish(con, fake_checks(run_id), run_id=run_id)
        version = versions.resolve(con, outcome.version)
        created_at = con.execute("SELECT strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') FROM lake.main.dataset_versions "
                                 "WHERE version = ?", [version.version]).fetchone()[0]
        folder = export.version_dir(warehouse, version.version)
        if outcome.published or not (folder / "datapackage.json").exists():
            export.export_version(con, warehouse, version, created_at)
        export.point_latest(warehouse, version.version)
    return outcome


def _die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


# Where to die: the function that runs at that boundary is replaced by a SIGKILL.
BOUNDARIES = {
    "inside_the_first_commit": (publish, "lake_tables"),   # tables replaced, not committed
    "between_the_two_commits": (publish, "diff"),          # version data committed, no version row
    "after_the_version_row": (export, "export_version"),   # version current, nothing exported
    "during_the_export": (export, "datapackage"),          # CSV + Parquet in v<N>.tmp, not renamed
    "before_latest_moves": (export, "point_latest"),       # v<N> exported, latest still older
}


if __name__ == "__main__":
    warehouse, boundary = Path(sys.argv[1]), sys.argv[2]
    module, name = BOUNDARIES[boundary]
    original = getattr(module, name)

    def maybe_die(*args, **kwargs):
        # publish.lake_tables also runs before the transaction: die on its one call inside it,
        # the one that lists the published schema's tables.
        if boundary == "inside_the_first_commit" and catalog.PUBLISHED_SCHEMA not in args:
            return original(*args, **kwargs)
        _die()

    setattr(module, name, maybe_die)
    publish_and_export(warehouse, f"killed-{boundary}")
    sys.exit(3)  # never reached when the boundary is hit
