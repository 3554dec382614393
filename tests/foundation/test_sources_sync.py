"""Source folders are reloaded only when their bytes change; a folder that is gone takes its rows."""
import shutil

from factledger import ingest, lake, lakestate, tables
from factledger.paths import PROJECT_ROOT

SOURCE = "ice-letter-2024-09-25"


def _states(con):
    return {t: s for t, (s, _) in lakestate.table_states(con).items() if t.startswith(("source", "official"))}


def test_an_unchanged_source_is_not_rewritten_and_a_changed_one_is(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    with lake.connect(tmp_path / "wh") as con:
        tables.ensure_tables(con)
        ingest.sync_sources(con, raw)
        first, rows = _states(con), con.execute("SELECT count(*) FROM official_figures").fetchone()[0]
        ingest.sync_sources(con, raw)
        assert _states(con) == first  # no table touched
        descriptor = raw / "sources" / SOURCE / "source.yaml"
        descriptor.write_text(descriptor.read_text() + "\n# edited\n")
        ingest.sync_sources(con, raw)
        assert _states(con)["sources"] > first["sources"]
        assert con.execute("SELECT count(*) FROM official_figures").fetchone()[0] == rows
        shutil.rmtree(raw / "sources" / SOURCE)
        ingest.sync_sources(con, raw)
        assert con.execute("SELECT count(*) FROM sources").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM official_figures").fetchone()[0] == 0
