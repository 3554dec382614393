"""Skipping a check whose inputs have not changed since it last passed.

A check's inputs are the lake tables its SQL reads and the SQL itself. A table's state is the last
lake snapshot that changed it (factledger/lakestate.py), so "unchanged" is exact and costs no
pass over the rows. A check that passed on
the same inputs is not evaluated again: the run logs that it was skipped and why, and reports the
earlier result. A failing check is always evaluated again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb

from factledger import lakestate
from factledger.tables import insert_rows
from schemas.published import CheckMemo

def inputs_key(con: duckdb.DuckDBPyConnection, sql: str) -> str | None:
    """A hash of `sql` and the state of every table it reads; None when that cannot be told (the
    check then always runs)."""
    try:
        tables = sorted(con.get_table_names(sql))
        states = {name: snapshot for name, (snapshot, _) in lakestate.table_states(con).items()}
    except duckdb.Error:
        return None
    if not tables or any(t not in states for t in tables):
        return None
    state = json.dumps({"sql": sql, "tables": {t: states[t] for t in tables}}, sort_keys=True)
    return hashlib.sha256(state.encode()).hexdigest()


def passed_before(con: duckdb.DuckDBPyConnection, check: str, key: str | None) -> tuple[int | None, str | None] | None:
    """(rows checked, run id) of the last time `check` passed on these inputs, or None."""
    if key is None:
        return None
    return con.execute(f"SELECT rows_checked, run_id FROM {CheckMemo.table_name()} WHERE check_key = ? AND inputs = ?",
                       [check, key]).fetchone()


def record(con: duckdb.DuckDBPyConnection, check: str, key: str | None, passed: bool, rows_checked: int | None,
           run_id: str | None) -> None:
    """Record how `check` did on these inputs: a pass is remembered (replacing what was recorded
    for it), a failure forgets it, so that nothing is reused. Run it inside the caller's transaction."""
    con.execute(f"DELETE FROM {CheckMemo.table_name()} WHERE check_key = ?", [check])
    if passed and key is not None:
        insert_rows(con, CheckMemo, [{"check_key": check, "inputs": key, "rows_checked": rows_checked, "run_id": run_id,
                                      "passed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}])
