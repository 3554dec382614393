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


def test_figures_are_rewritten_only_when_the_derived_cells_change(tmp_path):
    from factledger import figures

    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    derived = ("figures", "figure_dimensions", "figure_derivations")

    def states(con):
        return {t: s for t, (s, _) in lakestate.table_states(con).items() if t in derived}

    with lake.connect(tmp_path / "wh") as con:
        tables.ensure_tables(con)
        ingest.sync_sources(con, raw)
        assert figures.rebuild_figures(con)["changed"] == list(derived)
        first, rows = states(con), con.execute("SELECT * FROM figures ORDER BY figure_id").fetchall()
        again = figures.rebuild_figures(con)
        assert again["changed"] == [] and states(con) == first  # same cells: no table touched
        assert con.execute("SELECT * FROM figures ORDER BY figure_id").fetchall() == rows
        path = raw / "sources" / SOURCE / "figures.csv"
        lines = path.read_text().splitlines()
        head, first_row = lines[0].split(","), lines[1].split(",")
        first_row[head.index("value")] = str(int(float(first_row[head.index("value")])) + 1)
        path.write_text("\n".join([lines[0], ",".join(first_row), *lines[2:]]) + "\n")
        ingest.sync_sources(con, raw)
        assert "figures" in figures.rebuild_figures(con)["changed"]
        assert states(con)["figures"] > first["figures"]
        assert con.execute("SELECT * FROM figures ORDER BY figure_id").fetchall() != rows
