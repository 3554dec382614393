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


def test_the_figures_asset_is_skipped_only_while_nothing_it_reads_or_writes_changed(tmp_path):
    """A run that leaves the sources alone derives no figure again, and says so; an edited source,
    a figures row touched by anything else, or other code, rebuilds them."""
    from factledger import figures
    from tests.conftest import run_pipeline

    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    shutil.copytree(PROJECT_ROOT / "raw", raw)

    def built(selection=("sources", "official_figures", "figures")):
        result = run_pipeline(raw, warehouse, selection)  # an edited figure can fail derivations_agree
        [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "figures"]
        return event.materialization.metadata["skipped_as_built_in_run"].value, event.materialization.metadata["derived"].value

    def rows():
        with lake.connect(warehouse, read_only=True) as con:
            return con.execute("SELECT * FROM figures ORDER BY figure_id").fetchall()

    assert built()[0] is None  # first build
    first = rows()
    skipped, derived = built()
    assert skipped is not None and derived == sum(1 for r in first if r[11]) and rows() == first
    path = raw / "sources" / SOURCE / "figures.csv"
    lines = path.read_text().splitlines()
    head, first_row = lines[0].split(","), lines[1].split(",")
    first_row[head.index("value")] = str(int(float(first_row[head.index("value")])) + 1)
    path.write_text("\n".join([lines[0], ",".join(first_row), *lines[2:]]) + "\n")
    assert built()[0] is None and rows() != first  # an input changed: rebuilt
    assert built()[0] is not None
    with lake.connect(warehouse) as con:
        con.execute("DELETE FROM figure_derivations")
    assert built()[0] is None  # an output touched by something else: rebuilt
    with lake.connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM figure_derivations").fetchone()[0] > 0
    figures._code.cache_clear()
    try:
        import unittest.mock

        with unittest.mock.patch.object(figures, "_code", lambda: "figures:other code"):
            assert built()[0] is None  # other code: rebuilt
    finally:
        figures._code.cache_clear()


def test_the_figures_memo_names_every_lake_table_the_rebuild_reads_or_writes():
    import re

    from factledger import figures
    from schemas import LAKE_TABLES

    source = (PROJECT_ROOT / "factledger" / "figures.py").read_text()
    named = set(re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_]+)", source))
    lake_tables = {m.table_name() for m in LAKE_TABLES}
    assert named & lake_tables <= set(figures.INPUTS + figures.OUTPUTS) and set(figures.INPUTS) <= named
