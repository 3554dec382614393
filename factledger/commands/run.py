"""`factledger run`: materialise every asset in-process with the Definitions the Dagster UI uses."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from factledger import lake, paths, versions
from schemas.articles import QUARANTINED_IDS_SQL
from factledger.commands import add_warehouse_flag

if TYPE_CHECKING:
    import dagster as dg


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="ingest, validate, reconcile and publish; print a summary")
    parser.add_argument("--raw", metavar="DIR", help=f"input folder (default: ${paths.RAW_ENV}, else the checkout's raw/)")
    add_warehouse_flag(parser)
    parser.set_defaults(func=execute)


@contextlib.contextmanager
def _instance():
    """The persistent instance of $DAGSTER_HOME when set (runs show in the UI), else a throwaway one."""
    import dagster as dg  # here, not at the top: the other commands start faster without it

    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            yield instance
    else:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance


@contextlib.contextmanager
def _without_hypothesis_plugins():
    """pandera's checks import hypothesis (for its data strategies, which a run never uses), and
    hypothesis loads its plugins' entry points on import: trio's, 0.3-0.6 CPU s of every run's
    start. HYPOTHESIS_NO_PLUGINS is set while the Definitions are imported, then put back."""
    if "hypothesis" in sys.modules or os.environ.get("HYPOTHESIS_NO_PLUGINS"):
        yield
        return
    os.environ["HYPOTHESIS_NO_PLUGINS"] = "1"
    try:
        yield
    finally:
        os.environ.pop("HYPOTHESIS_NO_PLUGINS", None)


def execute(args: argparse.Namespace) -> int:
    raw, warehouse = paths.raw_dir(args.raw), paths.warehouse_dir(args.warehouse)
    if not raw.is_dir():
        raise FileNotFoundError(f"raw folder {raw} does not exist")
    with _without_hypothesis_plugins():
        from orchestration.definitions import defs

    print(f"factledger run\n  raw:       {raw}\n  warehouse: {warehouse}\n", file=sys.stderr, flush=True)
    with _instance() as instance:
        job = defs.resolve_job_def("refresh")
        # execute_in_process drops loggers a job inherits from Definitions; hand them over again.
        # The folders go to the resources as run config (the process environment is left alone).
        result = job.with_logger_defs(job.loggers).execute_in_process(
            instance=instance, raise_on_error=False, run_config={
                "loggers": {"console": {"config": {"log_level": "INFO"}}},
                "resources": {"lake": {"config": {"warehouse_dir": str(warehouse)}}, "raw": {"config": {"raw_dir": str(raw)}}},
            })
    print(summarise(result, warehouse))
    return 0 if result.success else 1


def current_version(warehouse: Path) -> tuple[int, str | None] | None:
    """The current dataset version and the run that published it, or None (nothing published, no
    lake, or it cannot be read)."""
    try:
        with lake.connect(warehouse, read_only=True) as con:
            found = versions.current_version(con)
            if found is None:
                return None
            run_id, = con.execute("SELECT run_id FROM lake.main.dataset_versions WHERE version = ?", [found.version]).fetchone()
    except Exception:  # noqa: BLE001 - the summary reports what it can; the run's own errors are printed
        return None
    return found.version, run_id


def steps_not_run(result: dg.ExecuteInProcessResult) -> list[str]:
    """Steps of the run that never started: a blocking check or an asset upstream of them failed."""
    planned = {node.name for node in result.job_def.nodes_in_topological_order}
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    return sorted(planned - started)


MAX_LISTED = 20


def step_failures(result: dg.ExecuteInProcessResult) -> list:
    """Failed steps, less those that only report a failed blocking check (listed as checks)."""
    def is_check_failure(event) -> bool:
        error = getattr(event.event_specific_data, "error", None)
        return error is not None and error.cls_name == "DagsterAssetCheckFailedError"
    return [e for e in result.get_step_failure_events() if not is_check_failure(e)]


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """One line per failed step: the step and the first lines of its error (never swallowed)."""
    lines = []
    for event in step_failures(result):
        error = getattr(event.event_specific_data, "error", None)
        cause = error
        while cause is not None and getattr(cause, "cause", None) is not None and "dagster" in (cause.cls_name or "").lower():
            cause = cause.cause  # the user code's exception, not Dagster's wrapper
        if cause is None:
            text = "failed (no error recorded)"
        else:
            text = (cause.message or "").strip()
            if not text.startswith(cause.cls_name or ""):
                text = f"{cause.cls_name}: {text}"
        text = text.splitlines()
        lines.append(f"    {event.step_key}: {text[0] if text else ''}")
        lines += [f"      {line}" for line in text[1:6]]
    return lines


@dataclass
class Ingested:
    """What the summary says of the inputs: articles, sources, figures, refused inputs."""

    present: int
    retired: int
    quarantined: int
    sources: int
    stated: int
    derived: int
    rejected: list[tuple]  # (file, line, reason), the first MAX_LISTED at least, by stage, file and line
    rejected_total: int


def ingested_from_run(result: dg.ExecuteInProcessResult) -> Ingested | None:
    """Ingested, from what the run's steps and checks reported (no lake opened); None when one of
    them did not report (not run, failed) or said too little."""
    from assets._checks import outcome_of

    materialized = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    checks = {f"{e.asset_key.to_user_string()}.{e.check_name}": outcome_of(e) for e in result.get_asset_check_evaluations()}
    articles, sources, figures = (materialized.get(k) for k in ("articles", "sources", "figures"))
    rejected, quarantined = checks.get("articles.no_rejected_inputs"), checks.get("articles.articles_dates_coherent")
    if None in (articles, sources, figures, rejected, quarantined) or not {"present", "dagster/row_count"} <= set(articles) \
            or "dagster/row_count" not in sources or not {"stated", "derived"} <= set(figures):
        return None
    if len(rejected.rows) < min(rejected.failure_count, MAX_LISTED) or len(quarantined.rows) < quarantined.failure_count:
        return None  # more quarantine rows than the check keeps: counted in the lake
    at = {c: i for i, c in enumerate(rejected.columns)}
    present, total = int(articles["present"].value), int(articles["dagster/row_count"].value)
    return Ingested(present, total - present, len({row[quarantined.columns.index("file")] for row in quarantined.rows}),
                    int(sources["dagster/row_count"].value), int(figures["stated"].value), int(figures["derived"].value),
                    [(r[at["file"]], r[at["line"]], r[at["reason"]]) for r in rejected.rows], rejected.failure_count)


def ingested_from_lake(warehouse: Path) -> Ingested:
    with lake.connect(warehouse, read_only=True) as con:
        present, retired = con.execute(
            "SELECT count(*) FILTER (retired_at IS NULL), count(*) FILTER (retired_at IS NOT NULL) FROM articles").fetchone()
        n_sources, = con.execute("SELECT count(*) FROM sources").fetchone()
        stated, derived = con.execute(
            "SELECT count(*) FILTER (NOT derived), count(*) FILTER (derived) FROM figures").fetchone()
        rejected = con.execute("SELECT file, line, reason FROM rejected_inputs ORDER BY stage, file, line").fetchall()
        quarantined, = con.execute(f"SELECT count(DISTINCT article_id) FROM ({QUARANTINED_IDS_SQL})").fetchone()
    return Ingested(present, retired, quarantined, n_sources, stated, derived, rejected, len(rejected))


def summarise(result: dg.ExecuteInProcessResult, warehouse: Path) -> str:
    """The run's summary, from what its steps and checks reported (the lake is read only for what
    they did not: a step not run or failed, and to name the current version of a failed run)."""
    import dagster as dg

    lines = ["", "Summary"]
    rejected, n_rejected = [], 0
    try:
        found = ingested_from_run(result) or ingested_from_lake(warehouse)
        rejected, n_rejected = found.rejected, found.rejected_total
        lines.append(f"  articles ingested: {found.present} present" + (f", {found.retired} retired" if found.retired else "")
                     + (f", {found.quarantined} quarantined (not published: see articles_dates_coherent)" if found.quarantined else ""))
        lines.append(f"  official figures:  {found.stated} stated and {found.derived} derived, from {found.sources} source(s)")
    except Exception as err:  # noqa: BLE001 - say what could not be read, and carry on with the rest
        lines.append(f"  lake: could not be read ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})")
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        if "summary" in metadata:
            lines.append(f"  {event.asset_key.to_user_string()}: {metadata['summary'].value}")

    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    warned = [e for e in evaluations if not e.passed and e.severity != dg.AssetCheckSeverity.ERROR]
    lines.append(f"  checks: {len(evaluations) - len(failed) - len(warned)} passed, {len(failed)} failed, "
                 f"{len(warned)} warning{'s' if len(warned) != 1 else ''}")
    for e in failed:
        lines.append(_check_line("FAILED", e, " [blocking]"))
        lines += _listed_rows(e)
    for e in warned:
        lines.append(_check_line("WARNING", e, ""))
        if e.check_name != "no_rejected_inputs":  # its rows are the rejected inputs listed below
            lines += _listed_rows(e)
    broken = failures(result)
    if broken:
        lines.append(f"  steps failed: {len(step_failures(result))}")
        lines += broken
    skipped = steps_not_run(result)
    if skipped:
        why = ("a blocking check or a step failed upstream" if broken and failed else
               "a step failed upstream" if broken else "a blocking check failed upstream")
        lines.append(f"  not run, because {why}: {', '.join(skipped)}")
    lines.append(f"  rejected inputs: {n_rejected}")
    lines += [f"    {file}{f':{line}' if line else ''}: {reason}" for file, line, reason in rejected[:MAX_LISTED]]
    if n_rejected > MAX_LISTED:
        lines.append(f"    ... and {n_rejected - MAX_LISTED} more (SELECT * FROM rejected_inputs)")
    lines.append(_verdict(result, warehouse, bool(failed), bool(broken)))
    return "\n".join(lines)


def _verdict(result: dg.ExecuteInProcessResult, warehouse: Path, checks_failed: bool, steps_failed: bool) -> str:
    """The last line: success, or failure and why and which version is current, as read from the
    lake (a connection opened only then: ~0.7 s at 100,000 articles): published by this run when
    its row names this run."""
    if result.success:
        return "Run succeeded."
    after = current_version(warehouse)
    if after is None:
        state = "nothing is published yet"
    elif after[1] == result.run_id:
        state = f"version {after[0]} was published by this run and is current"
    else:
        state = f"the previous published version stays current: version {after[0]}"
    causes = [c for c, on in (("see the failing checks above", checks_failed), ("see the failed steps above", steps_failed)) if on]
    return f"Run FAILED: {' and '.join(causes) or 'see the log above'} ({state})."


def _listed_rows(evaluation: dg.AssetCheckEvaluation) -> list[str]:
    """The rows a check listed in its metadata, indented, at most MAX_LISTED."""
    from assets._checks import outcome_of

    outcome = outcome_of(evaluation)
    if outcome is None:
        return []
    out = ["      " + "  ".join("" if v is None else str(v) for v in row) for row in outcome.rows[:MAX_LISTED]]
    if outcome.failure_count > MAX_LISTED:
        out.append(f"      ... and {outcome.failure_count - MAX_LISTED} more")
    return out


def _check_line(label: str, evaluation: dg.AssetCheckEvaluation, effect: str) -> str:
    metadata = evaluation.metadata
    count = metadata.get("failure_count")
    rows = f" ({count.value} row{'s' if count.value != 1 else ''})" if count is not None else ""
    return f"    {label} {evaluation.asset_key.to_user_string()}.{evaluation.check_name}{effect}{rows}"
