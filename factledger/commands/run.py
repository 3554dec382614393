"""`factledger run`: materialise every asset in-process with the Definitions the Dagster UI uses."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import dagster as dg

from factledger import lake, paths
from factledger.commands import add_warehouse_flag


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="ingest, validate, reconcile and publish; print a summary")
    parser.add_argument("--raw", metavar="DIR", help=f"input folder (default: ${paths.RAW_ENV}, else the checkout's raw/)")
    add_warehouse_flag(parser)
    parser.set_defaults(func=execute)


@contextlib.contextmanager
def _instance():
    """The persistent instance of $DAGSTER_HOME when set (runs show in the UI), else a throwaway one."""
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            yield instance
    else:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance


def execute(args: argparse.Namespace) -> int:
    raw, warehouse = paths.raw_dir(args.raw), paths.warehouse_dir(args.warehouse)
    if not raw.is_dir():
        raise FileNotFoundError(f"raw folder {raw} does not exist")
    # The Definitions' resources resolve their folders from these, as in the UI and the daemon.
    os.environ[paths.RAW_ENV], os.environ[paths.WAREHOUSE_ENV] = str(raw), str(warehouse)
    from orchestration.definitions import defs

    print(f"factledger run\n  raw:       {raw}\n  warehouse: {warehouse}\n", file=sys.stderr, flush=True)
    with _instance() as instance:
        job = defs.resolve_job_def("refresh")
        # execute_in_process drops loggers a job inherits from Definitions; hand them over again.
        result = job.with_logger_defs(job.loggers).execute_in_process(
            instance=instance, raise_on_error=False, run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        )
    print(summarise(result, warehouse))
    return 0 if result.success else 1


def steps_not_run(result: dg.ExecuteInProcessResult) -> list[str]:
    """Steps of the run that never started: a blocking check or an asset upstream of them failed."""
    planned = {node.name for node in result.job_def.nodes_in_topological_order}
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    return sorted(planned - started)


def summarise(result: dg.ExecuteInProcessResult, warehouse: Path) -> str:
    lines = ["", "Summary"]
    with lake.connect(warehouse, read_only=True) as con:
        present, retired = con.execute(
            "SELECT count(*) FILTER (retired_at IS NULL), count(*) FILTER (retired_at IS NOT NULL) FROM articles").fetchone()
        n_sources, = con.execute("SELECT count(*) FROM sources").fetchone()
        stated, derived = con.execute(
            "SELECT count(*) FILTER (NOT derived), count(*) FILTER (derived) FROM figures").fetchone()
        rejected = con.execute("SELECT file, line, reason FROM rejected_inputs ORDER BY stage, file, line").fetchall()
    lines.append(f"  articles ingested: {present} present" + (f", {retired} retired" if retired else ""))
    lines.append(f"  official figures:  {stated} stated and {derived} derived, from {n_sources} source(s)")
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        if "summary" in metadata:
            lines.append(f"  {event.asset_key.to_user_string()}: {metadata['summary'].value}")

    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    warned = [e for e in evaluations if not e.passed and e.severity != dg.AssetCheckSeverity.ERROR]
    lines.append(f"  checks: {len(evaluations) - len(failed) - len(warned)} passed, {len(failed)} failed, "
                 f"{len(warned)} warning{'s' if len(warned) != 1 else ''}")
    lines += [_check_line("FAILED", e, " [blocking]") for e in failed]
    lines += [_check_line("WARNING", e, "") for e in warned]
    skipped = steps_not_run(result)
    if skipped:
        lines.append(f"  not run, because a blocking check failed upstream: {', '.join(skipped)}")
    lines.append(f"  rejected inputs: {len(rejected)}")
    lines += [f"    {file}{f':{line}' if line else ''}: {reason}" for file, line, reason in rejected]
    lines.append("Run " + ("succeeded." if result.success else "FAILED: see the failing checks above (the previous published version stays current)."))
    return "\n".join(lines)


def _check_line(label: str, evaluation: dg.AssetCheckEvaluation, effect: str) -> str:
    metadata = evaluation.metadata
    count = metadata.get("failure_count")
    rows = f" ({count.value} row{'s' if count.value != 1 else ''})" if count is not None else ""
    return f"    {label} {evaluation.asset_key.to_user_string()}.{evaluation.check_name}{effect}{rows}"
