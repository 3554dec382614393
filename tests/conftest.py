"""Shared fixtures: a private copy of raw/ and a temporary warehouse per test, and a way to run
the real Definitions in-process against them."""
from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from factledger import lake, paths
from factledger.paths import PROJECT_ROOT
from orchestration.resources import LakeResource, RawFilesResource

INGEST_ASSETS = ("articles", "sources", "official_figures", "figures")


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
