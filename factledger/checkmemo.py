"""Skipping a check whose inputs have not changed since it last passed.

A check's inputs are the lake tables its SQL reads and the SQL itself. A table's state is the last
lake snapshot that changed it (factledger/lakestate.py), so "unchanged" is exact and costs no
pass over the rows. A check that passed on
the same inputs is not evaluated again: the run logs that it was skipped and why, and reports the
earlier result. A failing check is always evaluated again.

A pass also records the snapshot each input table was at (`check_memo_inputs`): a check whose
model can be narrowed (`_narrow_by`, factledger/validation.py) is then evaluated again only on
the rows the tables' change feeds list since (`passed_states`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb

from factledger import lakestate
from factledger.tables import insert_rows
from schemas.published import CheckMemo, CheckMemoInputs

def input_states(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int] | None:
    """{table: the last snapshot that changed it} for every table `sql` reads; None when that
    cannot be told (the check then always runs whole)."""
    try:
        tables = sorted(tables_read(con, sql))
        states = {name: snapshot for name, (snapshot, _) in lakestate.table_states(con).items()}
    except duckdb.Error:
        return None
    if not tables or any(t not in states for t in tables):
        return None
    return {t: states[t] for t in tables}


def tables_read(con: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    """The tables `sql` names. DuckDB's `get_table_names` binds the query and fails on some it runs
    (`a JOIN b USING (c)` inside a CTE: "column does not exist on left side of join"); then the
    names are read from the parsed tree (`json_serialize_sql`): every base table it names, less the
    names of its CTEs. A CTE named like a lake table could hide that table: duckdb.Error then (the
    caller evaluates the check whole)."""
    try:
        return set(con.get_table_names(sql))
    except duckdb.Error:
        pass
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    if tree.get("error"):
        raise duckdb.ParserException(tree.get("error_message") or "cannot parse the check's SQL")
    named: set[str] = set()
    ctes: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("type") == "BASE_TABLE" and node.get("table_name"):
                named.add(node["table_name"])
            if isinstance(node.get("cte_map"), dict):
                ctes.update(entry.get("key") for entry in node["cte_map"].get("map", []))
            stack.extend(node.values())
    if ctes & set(lakestate.table_states(con)):
        raise duckdb.BinderException("a CTE of the check's SQL is named like a lake table")
    return named - ctes


def inputs_key(con: duckdb.DuckDBPyConnection, sql: str, states: dict[str, int] | None = None) -> str | None:
    """A hash of `sql` and the state of every table it reads (`states`, or read now); None when
    that cannot be told (the check then always runs)."""
    states = input_states(con, sql) if states is None else states
    if states is None:
        return None
    state = json.dumps({"sql": sql, "tables": states}, sort_keys=True)
    return hashlib.sha256(state.encode()).hexdigest()


def sql_hash(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def recall(con: duckdb.DuckDBPyConnection, check: str, key: str | None, sql: str) -> tuple[tuple | None, dict[str, int] | None]:
    """What is remembered of `check`, in one query: (rows checked, run id) of its last pass when it
    was on these inputs (`key`; else None), and {table: its snapshot} of its last pass when that was
    with this same SQL (else None): passed_before and passed_states together."""
    rows = con.execute(f"""SELECT m.inputs, m.rows_checked, m.run_id, i.input_table, i.snapshot_id, i.sql_sha256
        FROM {CheckMemo.table_name()} m LEFT JOIN {CheckMemoInputs.table_name()} i USING (check_key)
        WHERE m.check_key = ?""", [check]).fetchall()
    if not rows:
        return None, None
    inputs, rows_checked, run_id = rows[0][:3]
    before = (rows_checked, run_id) if key is not None and inputs == key else None
    digest = sql_hash(sql)
    states = {table: snapshot for *_, table, snapshot, sha in rows if table is not None and sha == digest}
    return before, states or None


def passed_before(con: duckdb.DuckDBPyConnection, check: str, key: str | None) -> tuple[int | None, str | None] | None:
    """(rows checked, run id) of the last time `check` passed on these inputs, or None."""
    return recall(con, check, key, "")[0]


def passed_states(con: duckdb.DuckDBPyConnection, check: str, sql: str) -> dict[str, int] | None:
    """{table: its snapshot} of the last time `check` passed with this same SQL (the tables whose
    changes since then are all there is left to check), or None: it has not, or that is not known."""
    return recall(con, check, None, sql)[1]


def record(con: duckdb.DuckDBPyConnection, check: str, key: str | None, passed: bool, rows_checked: int | None,
           run_id: str | None, sql: str | None = None, states: dict[str, int] | None = None) -> None:
    """Record how `check` did on these inputs: a pass is remembered (replacing what was recorded
    for it) with its SQL and the snapshot each input table was at (`states`), a failure forgets it,
    so that nothing is reused. Run it inside the caller's transaction."""
    for table in (CheckMemo, CheckMemoInputs):
        con.execute(f"DELETE FROM {table.table_name()} WHERE check_key = ?", [check])
    if passed and key is not None:
        insert_rows(con, CheckMemo, [{"check_key": check, "inputs": key, "rows_checked": rows_checked, "run_id": run_id,
                                      "passed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None)}])
        if sql is not None and states:
            insert_rows(con, CheckMemoInputs, [{"check_key": check, "input_table": t, "snapshot_id": s, "sql_sha256": sql_hash(sql)}
                                               for t, s in sorted(states.items())])
