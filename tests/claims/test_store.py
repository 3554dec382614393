"""Incremental behaviour of the claims tables (plain functions; the first build of raw/ is made
once for the module, and each test changes its own copy of it)."""
import shutil

import pytest

from factledger import figures, ingest, lake, tables
from factledger.claims import lexicon, store
from factledger.paths import PROJECT_ROOT


def build(raw, warehouse, workers=None):
    with lake.connect(warehouse) as con:
        tables.ensure_tables(con)
        ingest.sync_articles(con, raw)
        ingest.sync_sources(con, raw)
        figures.rebuild_figures(con)
        result = store.sync_claims(con, lexicon.load(), workers=workers)
        counts = con.execute("SELECT count(*), count(DISTINCT figures_fingerprint) FROM claims").fetchone()
        store.export_claims(con, warehouse)
    return result, counts


@pytest.fixture(scope="module")
def first_build(tmp_path_factory):
    """raw/ built once, in one process: (its warehouse, the first sync's result, its counts)."""
    warehouse = tmp_path_factory.mktemp("first_build") / "wh"
    result, counts = build(PROJECT_ROOT / "raw", warehouse, workers=1)
    return warehouse, result, counts


@pytest.fixture
def raw_copy(tmp_path):
    target = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", target)
    return target


@pytest.fixture
def built_copy(first_build, tmp_path):
    """A private copy of the first build's warehouse, to change."""
    return shutil.copytree(first_build[0], tmp_path / "wh", symlinks=True)


def test_only_changed_articles_are_reextracted(first_build, raw_copy, built_copy):
    _, first, (n, fingerprints) = first_build
    warehouse = built_copy
    assert len(first.extracted) == 5 and n > 0 and fingerprints == 1
    again, (n_again, _) = build(raw_copy, warehouse)
    assert again.extracted == [] and not again.rereconciled and n_again == n
    article = sorted((raw_copy / "articles").iterdir())[0]
    article.write_text(article.read_text(encoding="utf-8") + "\nOfficials released 1,234 people convicted of burglary.\n", encoding="utf-8")
    changed, (n_changed, _) = build(raw_copy, warehouse)
    assert changed.extracted == [article.stem] and n_changed == n + 1
    assert (warehouse / "reports" / "claims.csv").exists()


def test_a_source_change_rescopes_and_rereconciles_every_citing_article(raw_copy, built_copy):
    # Scope depends on the cited sources' cue words, so a source change redoes its articles.
    warehouse = built_copy
    csv_path = next((raw_copy / "sources").glob("*/figures.csv"))
    csv_path.write_text(csv_path.read_text(encoding="utf-8").replace(",425431,", ",425432,"), encoding="utf-8")
    result, (_, fingerprints) = build(raw_copy, warehouse)
    assert len(result.extracted) == 5 and result.rereconciled and fingerprints == 1
    again, _ = build(raw_copy, warehouse)
    assert again.extracted == [] and not again.rereconciled


def test_removed_article_drops_its_claims(raw_copy, built_copy):
    warehouse = built_copy
    gone = sorted((raw_copy / "articles").iterdir())[-1]
    gone.unlink()
    result, _ = build(raw_copy, warehouse)
    assert result.dropped == [gone.stem]
    with lake.connect(warehouse) as con:
        assert con.execute("SELECT count(*) FROM claims WHERE article_id = ?", [gone.stem]).fetchone()[0] == 0


@pytest.mark.slow  # starts worker processes
def test_claims_across_worker_processes_equal_those_of_one_process(first_build, raw_copy, tmp_path, monkeypatch):
    with lake.connect(first_build[0], read_only=True) as con:  # built with workers=1
        results = {1: con.execute("SELECT claim_id, verdict, figure_id, explanation FROM claims ORDER BY claim_id").fetchall()}
        extractions = con.execute("SELECT article_id, n_claims FROM claim_extractions ORDER BY ALL").fetchall()
    # Small batches and chunks, one chunk ahead: batches end mid-chunk, chunks cross the in-flight limit.
    monkeypatch.setattr(store, "BATCH", 3)
    monkeypatch.setattr(store, "CHUNK", 2)
    monkeypatch.setattr(store, "AHEAD", 1)
    for workers in (2,):
        warehouse = tmp_path / f"wh{workers}"
        with lake.connect(warehouse) as con:
            tables.ensure_tables(con)
            ingest.sync_articles(con, raw_copy)
            ingest.sync_sources(con, raw_copy)
            figures.rebuild_figures(con)
            store.sync_claims(con, lexicon.load(), workers=workers)
            results[workers] = con.execute(
                "SELECT claim_id, verdict, figure_id, explanation FROM claims ORDER BY claim_id").fetchall()
            assert con.execute("SELECT article_id, n_claims FROM claim_extractions ORDER BY ALL").fetchall() == extractions
    assert len(extractions) > 3 and results[1] and results[1] == results[2]
