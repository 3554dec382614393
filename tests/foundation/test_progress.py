"""Progress lines of long steps: at most one per interval, with the rate and the time left, a
closing line only after a step long enough to have reported, nothing for short ones."""
from factledger.progress import Progress, eta_line


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_line_gives_rate_and_time_left():
    assert eta_line("articles: hashing", 250, 1000, 5.0, "files") == "articles: hashing 250/1,000 files, 50/s, about 15 s left"
    assert eta_line("pages", 1000, 1000, 4.0, "pages") == "pages 1,000/1,000 pages, 250/s, done in 4.0 s"
    assert eta_line("pages", 0, 10, 0.0, "pages") == "pages 0/10 pages, 0/s, time left unknown"


def test_a_long_step_reports_every_interval_and_closes():
    clock, lines = Clock(), []
    progress = Progress("claims", 100, lines.append, unit="articles", every=10, clock=clock)
    for _ in range(100):
        clock.now += 0.5  # 2 items a second: 50 s in all
        progress.advance()
    progress.finish()
    assert len(lines) == 5  # at 10, 20, 30, 40 s, and the closing line
    assert lines[0] == "claims 20/100 articles, 2/s, about 40 s left"
    assert lines[-1] == "claims 100/100 articles, 2/s, done in 50.0 s"


def test_a_short_step_and_no_log_stay_quiet():
    clock, lines = Clock(), []
    items = list(Progress("quick", 3, lines.append, every=10, clock=clock).over(["a", "b", "c"]))
    assert items == ["a", "b", "c"] and lines == []
    silent = Progress("off", 5, None, every=0, clock=clock)
    silent.advance(5)
    silent.finish()
    assert silent.done == 5


def test_ingest_reports_its_passes(tmp_path, monkeypatch):
    from factledger import ingest, lake, progress, tables
    from factledger.paths import PROJECT_ROOT

    monkeypatch.setattr(progress, "EVERY", 0.0)  # a line at every file
    lines = []
    with lake.connect(tmp_path / "warehouse") as con:
        tables.ensure_tables(con)
        sync = ingest.sync_articles(con, PROJECT_ROOT / "raw", progress=lines.append)
    n = len(sync.added)
    assert n > 1
    assert lines[0].startswith(f"articles: hashing 1/{n} files, ")
    closing = [line.split(",")[0] for line in lines if "done in" in line]
    # Writing is one batch here: done at its first step, it has nothing to report along the way.
    assert closing == [f"articles: hashing {n}/{n} files", f"articles: parsing {n}/{n} new or changed files"]


def test_claims_extraction_reports_its_batches(tmp_path, monkeypatch):
    from factledger import lake, progress
    from factledger.claims import lexicon, store
    from factledger.paths import PROJECT_ROOT
    from tests.conftest import build_lake

    build_lake(PROJECT_ROOT / "raw", tmp_path / "warehouse")  # claims current: force them to be extracted again

    monkeypatch.setattr(progress, "EVERY", 0.0)
    monkeypatch.setattr(store, "BATCH", 2)
    lines = []
    with lake.connect(tmp_path / "warehouse") as con:
        con.execute("DELETE FROM claim_extractions")
        sync = store.sync_claims(con, lexicon.load(), progress=lines.append, workers=1)
    n = len(sync.extracted)
    assert n > 2
    assert lines[0].startswith("claims (1 process): extracting 2/")
    assert lines[-1].startswith(f"claims (1 process): extracting {n}/{n} articles, ") and "done in" in lines[-1]


def test_the_report_reports_its_article_pages(published_lake, tmp_path, monkeypatch):
    from factledger import lake, progress, versions
    from factledger.report import build
    from tests.conftest import copy_warehouse

    warehouse = copy_warehouse(published_lake.warehouse, tmp_path / "warehouse")
    monkeypatch.setattr(progress, "EVERY", 0.0)
    lines = []
    with lake.connect(warehouse, read_only=True) as con:
        version = versions.resolve(con, None)
        n = con.execute("SELECT count(*) FROM lake.published.articles").fetchone()[0]
        build.write_report(con, warehouse, version, force=True, progress=lines.append)
    assert lines[0].startswith(f"report: article pages 1/{n} pages, ")
    assert lines[-1].startswith(f"report: article pages {n}/{n} pages, ") and "done in" in lines[-1]
