"""A version's CSV exports (folders of parts) and reports/claims.csv (one file) after a one-article
change: spliced from the previous ones (only the changed key ranges written; unchanged parts are
links), and byte for byte what a whole rewrite gives."""
from __future__ import annotations

import shutil

import pytest

from factledger import export, lake, splice, versions
from factledger.claims import store
from tests.conftest import copy_warehouse
from tests.publish.conftest import CHANGED_ARTICLE, factledger, joined


@pytest.fixture(scope="module")
def spliced(tmp_path_factory, published_lake):
    root = tmp_path_factory.mktemp("splice")
    raw = shutil.copytree(published_lake.raw, root / "raw")
    warehouse = copy_warehouse(published_lake.warehouse, root / "warehouse")
    written: list[splice.Written] = []

    def recorded(write):
        def wrapped(*args, **kwargs):
            written.append(write(*args, **kwargs))
            return written[-1]
        return wrapped

    with pytest.MonkeyPatch.context() as patch:
        for name, value in (("CHUNK_BYTES", 2048), ("UNIT_ROWS", 2), ("FIRST_CHUNK_ROWS", 4)):
            patch.setattr(splice, name, value)  # chunks of a few rows: a small lake in many chunks
        for name in ("write_csv", "write_csv_parts"):  # reports/claims.csv, and the exports' folders of parts
            patch.setattr(splice, name, recorded(getattr(splice, name)))
        with lake.connect(warehouse) as con:  # version 1's files again, in small chunks
            v1 = versions.resolve(con, 1)
            export.export_version(con, warehouse, v1, "2026-12-01T00:00:00Z")
            store._state_path(warehouse / store.EXPORT_RELATIVE_PATH).unlink()
            store.export_claims(con, warehouse)
        first = {w.path.name: w for w in written}
        written.clear()
        article = raw / "articles" / f"{CHANGED_ARTICLE}.md"
        article.write_text(article.read_text().replace("\ntitle: ", "\ntitle: (updated) ", 1)
                           + "\nOfficials later counted 4,321 more arrests.\n")
        run = factledger("run", "--raw", raw, "--warehouse", warehouse)
    assert run.rc == 0, run.out[-3000:]
    return {"warehouse": warehouse, "first": first, "second": {w.path.name: w for w in written}}


def whole_copy(con, query: splice.CsvQuery, path):
    con.execute(query.whole_sql().format(path=f"'{path}'"))
    return path.read_bytes()


def test_the_changed_tables_csv_are_spliced_and_equal_a_whole_rewrite(spliced, tmp_path):
    warehouse = spliced["warehouse"]
    assert spliced["first"][export.csv_parts("claims")].chunks > 5 and spliced["first"][export.csv_parts("articles")].chunks > 1
    with lake.connect(warehouse, read_only=True) as con:
        v2 = versions.resolve(con, 2)
        for name in versions.tables_at(con, v2.snapshot_id):
            query = export.table_csv(con, name, versions.relation_at(name, v2.snapshot_id))
            exported = export.version_dir(warehouse, 2) / export.csv_parts(name)
            assert joined(exported) == whole_copy(con, query, tmp_path / f"{name}.csv"), name
            assert splice.read_parts_index(exported, query) is not None, name  # ready for the next version
    second = spliced["second"]
    for name in (export.csv_parts("claims"), export.csv_parts("articles")):
        assert second[name].spliced and second[name].rewritten < second[name].chunks, name
    # A changed table's unchanged parts, and every part of an unchanged table, are version 1's files.
    v1, v2 = (export.version_dir(warehouse, v) for v in (1, 2))
    claims = second[export.csv_parts("claims")]
    for i, earlier in enumerate(claims.reused):
        part, before = v2 / export.csv_parts("claims") / splice.PART_CSV.format(i), v1 / export.csv_parts("claims") / splice.PART_CSV.format(earlier or 0)
        assert (part.stat().st_ino == before.stat().st_ino) == (earlier is not None), i
    assert export.csv_parts("sources") not in second
    assert splice.index_path(v2 / export.csv_parts("sources")).stat().st_ino == splice.index_path(v1 / export.csv_parts("sources")).stat().st_ino
    assert all(p.stat().st_nlink > 1 for p in splice.part_paths(v2 / export.csv_parts("sources")))


def test_reports_claims_csv_is_spliced_and_equals_a_whole_rewrite(spliced, tmp_path):
    warehouse = spliced["warehouse"]
    path = warehouse / store.EXPORT_RELATIVE_PATH
    written = spliced["second"]["claims.csv.tmp"]
    assert written.spliced and written.rewritten < written.chunks
    with lake.connect(warehouse, read_only=True) as con:
        assert store.export_is_current(con, path)
        assert path.read_bytes() == whole_copy(con, store.export_query(), tmp_path / "claims.csv")
        assert splice.read_index(path, store.export_query()) is not None
        assert not (path.parent / "claims.csv.tmp").exists()


def test_an_earlier_version_exported_again_is_written_from_its_own_snapshot(spliced, tmp_path):
    # Version 1 exported after version 2 (its folder gone): no earlier export to splice from, so
    # written whole, from version 1's rows; version 2's files are left as they are.
    warehouse = copy_warehouse(spliced["warehouse"], tmp_path / "warehouse")
    v2_claims = joined(export.version_dir(warehouse, 2) / export.csv_parts("claims"))
    shutil.rmtree(export.version_dir(warehouse, 1))
    with lake.connect(warehouse) as con:
        v1 = versions.resolve(con, 1)
        folder = export.export_version(con, warehouse, v1, "2026-12-01T00:00:00Z")
        for name in ("claims", "articles"):
            query = export.table_csv(con, name, versions.relation_at(name, v1.snapshot_id))
            assert joined(folder / export.csv_parts(name)) == whole_copy(con, query, tmp_path / f"{name}.csv")
    assert joined(export.version_dir(warehouse, 2) / export.csv_parts("claims")) == v2_claims != joined(folder / export.csv_parts("claims"))


def test_a_changed_tables_parquet_parts_follow_its_csv_chunks_and_only_changed_ones_are_written(spliced, tmp_path):
    import pyarrow.parquet as pq

    warehouse = spliced["warehouse"]
    v1, v2 = (export.version_dir(warehouse, v) for v in (1, 2))
    with lake.connect(warehouse, read_only=True) as con:
        v = versions.resolve(con, 2)
        for name in versions.tables_at(con, v.snapshot_id):
            relation = versions.relation_at(name, v.snapshot_id)
            key = export.table_csv(con, name, relation).key
            parts = sorted((v2 / f"{name}.parquet").iterdir())
            index = splice.Index.from_json(splice.index_path(v2 / export.csv_parts(name)).read_text())
            assert [p.name for p in parts] == [splice.PART.format(i) for i in range(max(1, len(index.chunks)))], name
            # Read in name order, the parts are the table in key order, raw values.
            expected = con.execute(f"SELECT * FROM {relation} ORDER BY {', '.join(key)}").fetch_arrow_table()
            got = con.execute(f"SELECT * FROM read_parquet({[str(p) for p in parts]})").fetch_arrow_table()
            assert got.equals(expected), name
            # A part equals the same part written whole.
            whole = tmp_path / name
            written = splice.Written(v2 / export.csv_parts(name), False, len(index.chunks), len(index.chunks), (), index)
            splice.write_parquet_parts(con, relation, key, written, whole,
                                       columns=len(versions.columns_at(con, relation)))
            for part in parts:
                assert pq.read_table(part).equals(pq.read_table(whole / part.name)), (name, part.name)
    # claims changed in one place: most parts are version 1's files, linked; sources is linked whole.
    claims = spliced["second"][export.csv_parts("claims")]
    linked = [i for i, r in enumerate(claims.reused) if r is not None]
    assert linked and len(linked) < len(claims.reused)
    for i in linked:
        assert (v2 / "claims.parquet" / splice.PART.format(i)).stat().st_ino == \
            (v1 / "claims.parquet" / splice.PART.format(claims.reused[i])).stat().st_ino
    for i in set(range(len(claims.reused))) - set(linked):
        assert (v2 / "claims.parquet" / splice.PART.format(i)).stat().st_nlink == 1
    assert all(p.stat().st_nlink > 1 for p in (v2 / "sources.parquet").iterdir())


def test_the_only_claims_csv_in_the_warehouse_is_the_scorers_file(spliced):
    """Tools find the scorer's file by its name (`find -name claims.csv`): no export folder is named
    like it."""
    warehouse = spliced["warehouse"]
    assert [p for p in warehouse.rglob("*.csv") if p.is_dir()] == []
    assert list(warehouse.rglob("claims.csv")) == [warehouse / store.EXPORT_RELATIVE_PATH]
