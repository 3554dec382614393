"""Shared fixtures: a private copy of raw/ and a temporary warehouse per test, a way to run the
real Definitions in-process against them, and one real run of the whole pipeline on the
checkout's raw/ per session (`published_lake`) for the tests that only read it or copy it.

A Dagster run costs several times what the same tables cost with plain functions
(`build_lake`): scenario tests build their lake once per module, with plain functions where they
only read it, and a few tests keep the real Dagster, daemon, browser and server paths covered.
`slow` marks the tests that start real processes or servers (`make test-fast` skips them)."""
from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from factledger import lake, paths
from factledger.paths import PROJECT_ROOT
from orchestration.resources import LakeResource, RawFilesResource

INGEST_ASSETS = ("articles", "sources", "official_figures", "figures")

# Whole folders of tests that start real processes or servers: marked `slow` here (tests elsewhere
# carry the marker themselves). `make test-fast` runs `pytest -m "not slow"`.
SLOW_FOLDERS = ("backends", "report/test_browser.py", "publish/test_versions.py")
# Folders whose files share one lake (package-scoped fixtures): with pytest-xdist, each goes to one
# worker as a whole; other tests go to workers file by file (tests/backends too: each worker that
# runs one of its files starts its own PostgreSQL and S3 servers, a few seconds, so that its long
# files run side by side).
SHARED_FOLDERS = ("publish", "report")


# The longest files and folders, longest first (`pytest -n 2 --durations=0`, summed per file), handed
# out first to the pytest-xdist workers so that no long one is left to run alone at the end.
LONGEST_FIRST = ("hostile/test_matrix.py", "publish", "backends/test_lake_on_postgres_s3.py", "report",
                 "backends/test_celery.py", "orchestration/test_e2e_daemon.py", "backends/test_migrate.py",
                 "foundation/test_definitions.py", "foundation/test_pipeline.py")


def _in(rel: str, folder: str) -> bool:
    return rel == folder or rel.startswith(folder + "/")


def pytest_collection_modifyitems(config, items):
    tests_dir = Path(__file__).parent
    rel = {item: Path(item.path).relative_to(tests_dir).as_posix() for item in items}
    for item in items:
        if any(_in(rel[item], folder) for folder in SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the order the workers take files in
        def rank(item) -> int:
            return next((i for i, folder in enumerate(LONGEST_FIRST) if _in(rel[item], folder)), len(LONGEST_FIRST))
        items.sort(key=rank)  # stable: within a file, the order is kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`-n N`: whole files to a worker (module-scoped lakes are built once), whole SHARED_FOLDERS,
    handed out in LONGEST_FIRST's order (the workers' collection order)."""
    from xdist.scheduler import LoadScopeScheduling

    # pytest-xdist reorders scopes by their number of tests unless told not to: the long ones
    # (few tests each: servers, the daemon) would start last and run alone at the end.
    config.option.loadscopereorder = False

    class FolderScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            parts = path.split("/")
            if len(parts) > 2 and parts[0] == "tests" and parts[1] in SHARED_FOLDERS:
                return "/".join(parts[:2])
            return path

    return FolderScheduling(config, log)


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch):
    """Tests choose their folders explicitly: the developer's FACTLEDGER_RAW / FACTLEDGER_WAREHOUSE never leak in."""
    for name in (paths.RAW_ENV, paths.WAREHOUSE_ENV):
        monkeypatch.setenv(name, "")


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    """A writable copy of the checkout's raw/ folder."""
    target = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", target)
    return target


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


def copy_raw(target: Path) -> Path:
    """A writable copy of the checkout's raw/ folder at `target`."""
    shutil.copytree(PROJECT_ROOT / "raw", target)
    return target


def copy_warehouse(warehouse: Path, target: Path) -> Path:
    """A private copy of a warehouse folder (its lake keeps working where it is copied to)."""
    shutil.copytree(warehouse, target, symlinks=True)
    return target


@dataclass(frozen=True)
class Published:
    """One real `factledger run` (the refresh job: every asset and check of the Definitions) on a
    copy of the checkout's raw/, version 1 published: its exit code, what it printed and the
    job's result. Shared by the session: read it, or copy its folders (`shutil.copytree`,
    `copy_warehouse`) to change them."""

    raw: Path
    warehouse: Path
    result: dg.ExecuteInProcessResult
    code: int
    out: str
    err: str

    def evaluations(self, assets: tuple[str, ...] | None = None) -> dict:
        """The run's check evaluations by check name (only those of `assets`, if given)."""
        return {name: e for name, e in check_evaluations(self.result).items()
                if assets is None or e.asset_key.to_user_string() in assets}


@pytest.fixture(scope="session")
def published_lake(tmp_path_factory) -> Published:
    from factledger.cli import main

    root = tmp_path_factory.mktemp("published")
    raw, warehouse = copy_raw(root / "raw"), root / "warehouse"
    results: list[dg.ExecuteInProcessResult] = []
    execute_in_process = dg.JobDefinition.execute_in_process

    def recorded(self, *args, **kwargs):
        results.append(execute_in_process(self, *args, **kwargs))
        return results[-1]

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in (paths.RAW_ENV, paths.WAREHOUSE_ENV):
            patch.setenv(name, "")
        patch.delenv("DAGSTER_HOME", raising=False)  # a throwaway instance
        patch.setattr(dg.JobDefinition, "execute_in_process", recorded)  # to keep the job's result
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["run", "--raw", str(raw), "--warehouse", str(warehouse)])
    [result] = results
    assert result.success, out.getvalue()[-4000:]
    return Published(raw, warehouse, result, code, out.getvalue(), err.getvalue())


def build_lake(raw: Path, warehouse: Path) -> Path:
    """The pipeline's tables from `raw` with plain functions (no Dagster, no checks, no publish):
    ingest, derive, extract and reconcile. Returns the claims export's path."""
    from factledger import figures, ingest, tables
    from factledger.claims import lexicon, store

    with lake.connect(warehouse) as con:
        tables.ensure_tables(con)
        ingest.sync_articles(con, raw)
        ingest.sync_sources(con, raw)
        figures.rebuild_figures(con)
        store.sync_claims(con, lexicon.load())
        return store.export_claims(con, warehouse)


def run_pipeline(raw: Path, warehouse: Path, assets: tuple[str, ...] | None = None) -> dg.ExecuteInProcessResult:
    """Materialise the real Definitions' assets and checks in-process (optionally only `assets` and
    their checks) with the resources pointed at `raw` and `warehouse`."""
    from orchestration.definitions import defs

    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        instance=dg.DagsterInstance.ephemeral(),
        resources={"lake": LakeResource(warehouse_dir=str(warehouse)), "raw": RawFilesResource(raw_dir=str(raw))},
        selection=dg.AssetSelection.assets(*assets) if assets else None,
        raise_on_error=False,
    )


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with lake.connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}
