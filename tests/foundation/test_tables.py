"""Writing Python rows into lake tables (factledger/tables.py)."""
from __future__ import annotations

import gc
import weakref

import pyarrow as pa

from factledger import lake, tables
from schemas import RejectedInputs


def test_rows_written_inside_a_transaction_are_not_held_until_the_commit(tmp_path):
    # A run writes a million claim rows in batches inside one transaction: each batch's Arrow
    # table must be free once written, not kept alive (as a registered view is) until COMMIT.
    with lake.connect(tmp_path) as con:
        con.execute("CREATE TABLE numbers (n BIGINT)")
        con.execute("BEGIN")
        batch = pa.table({"n": list(range(1000))})
        alive = weakref.ref(batch)
        tables.execute_over(con, f"INSERT INTO numbers SELECT n FROM {tables.ARROW_ROWS}", batch)
        del batch
        gc.collect()
        assert alive() is None
        con.execute("COMMIT")
        assert con.execute("SELECT count(*), sum(n) FROM numbers").fetchone() == (1000, 499500)


def test_insert_rows_fills_the_columns_a_row_omits_with_null(tmp_path):
    with lake.connect(tmp_path) as con:
        tables.ensure_tables(con)
        written = tables.insert_rows(con, RejectedInputs, [{"stage": "articles", "file": "articles/a.md", "reason": "empty file"}])
        assert written == 1
        row = con.execute("SELECT stage, file, line, reason, detected_at FROM rejected_inputs").fetchone()
        assert row == ("articles", "articles/a.md", None, "empty file", None)


def test_a_table_not_inlined_keeps_its_rows_in_data_files_not_the_catalog(tmp_path):
    from schemas import DatasetVersions

    assert DatasetVersions._inlined is False and RejectedInputs._inlined is True
    with lake.connect(tmp_path) as con:
        tables.ensure_tables(con)
        tables.ensure_tables(con)  # again: the option is set once
        scopes = [scope for name, _, value, _, scope in con.execute("SELECT * FROM lake.options()").fetchall()
                  if name == "data_inlining_row_limit"]
        assert scopes == ["main.dataset_versions"]
        for model in (DatasetVersions, RejectedInputs):
            tables.insert_rows(con, model, [{c: None for c in model.column_names()}])
        files = lambda t: con.execute(f"SELECT count(*) FROM ducklake_list_files('lake', '{t}')").fetchone()[0]  # noqa: E731
        assert files("dataset_versions") == 1  # a Parquet file, with its statistics cut short
        assert files("rejected_inputs") == 0  # a small insert stays in the catalog
