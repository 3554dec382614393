"""The lake of a warehouse folder: moved or copied, it keeps working (the catalog's recorded data
path is overridden by the folder's current place); a path with a quote works; the resource's write
transaction is all or nothing."""
import shutil

from factledger import figures, ingest, lake, tables
from factledger.paths import PROJECT_ROOT
from tests.conftest import build_lake


def _figures_lake(warehouse) -> int:
    """A lake of raw/'s sources and their figures at `warehouse`: its number of figures."""
    with lake.connect(warehouse) as con:
        tables.ensure_tables(con)
        ingest.sync_sources(con, PROJECT_ROOT / "raw")
        figures.rebuild_figures(con)
        return con.execute("SELECT count(*) FROM figures").fetchone()[0]


def test_a_moved_warehouse_reads_and_writes_in_its_new_place(tmp_path):
    before = tmp_path / "before"
    n = _figures_lake(before)
    after = tmp_path / "moved" / "elsewhere"
    after.parent.mkdir()
    shutil.move(before, after)
    with lake.connect(after, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM figures").fetchone()[0] == n > 0
    with lake.connect(after) as con:
        tables.ensure_tables(con)
        figures.rebuild_figures(con)
        assert con.execute("SELECT count(*) FROM figures").fetchone()[0] == n
    assert not before.exists() and any((after / "lake" / "data").rglob("*.parquet"))


def test_a_warehouse_path_with_a_quote_works(tmp_path):
    warehouse = tmp_path / "o'brien's warehouse"
    path = build_lake(PROJECT_ROOT / "raw", warehouse)
    assert path.read_text(encoding="utf-8").startswith("article_id,")
    with lake.connect(warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM claims").fetchone()[0] > 0


def test_the_lake_resource_rolls_back_a_failed_write(tmp_path):
    import pytest

    from orchestration.resources import LakeResource

    resource = LakeResource(warehouse_dir=str(tmp_path / "warehouse"))
    with pytest.raises(RuntimeError, match="half-way"):
        with resource.transaction() as con:
            con.execute("INSERT INTO source_people VALUES ('s', 'A Person', 'sender')")
            raise RuntimeError("half-way")
    with resource.connect() as con:
        assert con.execute("SELECT count(*) FROM source_people").fetchone()[0] == 0
    with resource.transaction() as con:
        con.execute("INSERT INTO source_people VALUES ('s', 'A Person', 'sender')")
    with resource.connect() as con:
        assert con.execute("SELECT count(*) FROM source_people").fetchone()[0] == 1


def test_a_copied_warehouse_migrates_from_its_own_data(tmp_path):
    """`factledger lake migrate` reads the warehouse's data folder, not the one its catalog recorded
    (here gone), and copies it to a local target folder that does not exist yet."""
    from factledger.cli import main

    original = tmp_path / "original"
    n = _figures_lake(original)
    copy = shutil.copytree(original, tmp_path / "copy")
    shutil.rmtree(original)
    target = tmp_path / "target"
    assert main(["lake", "migrate", "--to", f"sqlite:{tmp_path / 'target.sqlite'}", "--data-path", str(target / "data"),
                 "--warehouse", str(copy)]) == 0
    assert any((target / "data").rglob("*.parquet"))
    migrated = lake.resolve(catalog=f"sqlite:{tmp_path / 'target.sqlite'}", data_path_=str(target / "data"))
    with lake.connect(migrated, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM figures").fetchone()[0] == n > 0
