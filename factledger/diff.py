"""What changed between two dataset versions, per published table: rows added, removed and
changed (matched on the table's key), computed in DuckDB. Callers that only need the counts
(publishing) or the first rows (the report) never fetch the rest."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from factledger.catalog import CONCERNS, PUBLISHED_SCHEMA, PUBLISHED_TABLES, compared_columns, model_for, quote, row_key
from factledger.lakestate import changed_between
from factledger.versions import change_feed, columns_at, relation_at, same_table, tables_at

CHANGES = ("added", "removed", "changed")


def diff_sql(old: str | None, new: str | None, key: list[str], compared: list[str], concerns: list[str]) -> str:
    """SQL listing the rows added, removed and changed from relation `old` to `new` (either may be
    None: a table absent from one side), matched on `key`; for changed rows, which columns."""
    cols = list(dict.fromkeys([*key, *compared, *concerns]))
    select = ", ".join(quote(c) for c in cols)
    empty = lambda rel: f"(SELECT {select} FROM {rel} WHERE FALSE)"  # noqa: E731
    a = f"(SELECT {select}, TRUE AS __present FROM {old})" if old else f"(SELECT *, TRUE AS __present FROM {empty(new)})"
    b = f"(SELECT {select}, TRUE AS __present FROM {new})" if new else f"(SELECT *, TRUE AS __present FROM {empty(old)})"
    join = " AND ".join(f"a.{quote(k)} IS NOT DISTINCT FROM b.{quote(k)}" for k in key)
    others = [c for c in compared if c not in key]
    differs = [f"a.{quote(c)} IS DISTINCT FROM b.{quote(c)}" for c in others]
    changed_cols = "concat_ws(', ', " + ", ".join(f"CASE WHEN {d} THEN '{c}' END" for c, d in zip(others, differs)) + ")" if others else "''"
    key_text = " || ' / ' || ".join(f"coalesce(CAST(coalesce(b.{quote(k)}, a.{quote(k)}) AS VARCHAR), 'NULL')" for k in key)
    concern_cols = "".join(f", CAST(coalesce(b.{quote(c)}, a.{quote(c)}) AS VARCHAR) AS {quote(c)}" for c in CONCERNS if c in concerns)
    concern_nulls = "".join(f", NULL::VARCHAR AS {quote(c)}" for c in CONCERNS if c not in concerns)
    return f"""
        SELECT CASE WHEN a.__present IS NULL THEN 'added' WHEN b.__present IS NULL THEN 'removed' ELSE 'changed' END AS change,
               {key_text} AS key{concern_cols}{concern_nulls},
               CASE WHEN a.__present AND b.__present THEN {changed_cols} ELSE '' END AS columns
        FROM {a} a FULL OUTER JOIN {b} b ON {join}
        WHERE a.__present IS NULL OR b.__present IS NULL {('OR ' + ' OR '.join(differs)) if differs else ''}
        ORDER BY change, key"""


@dataclass
class TableDiff:
    table: str
    rows: list[tuple]  # (change, key, article_id, figure_id, columns); the first `limit` when limited
    counts: dict[str, int] = field(default_factory=dict)  # change -> rows; from `rows` when not given

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = {c: n for c in CHANGES if (n := sum(1 for r in self.rows if r[0] == c))}

    def count(self, change: str) -> int:
        return self.counts.get(change, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def changed(self) -> bool:
        return self.total > 0

    def summary(self) -> str:
        parts = [f"{self.count(c)} {c}" for c in CHANGES if self.count(c)]
        return f"{self.table}: {', '.join(parts) or 'unchanged'}"


def table_diff_sql(con: duckdb.DuckDBPyConnection, name: str, old_snapshot: int | None, new_snapshot: int | None,
                   only: str | None = None) -> str:
    """diff_sql for one published table between two snapshots (a table absent from a side: None).
    `only`: a relation of key values outside which the two sides are known to be equal (the
    publisher's changed keys): only those rows are compared."""
    table = next(t for t in PUBLISHED_TABLES if t.name == name)
    old = relation_at(name, old_snapshot) if old_snapshot is not None else None
    new = relation_at(name, new_snapshot) if new_snapshot is not None else None
    old_columns = set(columns_at(con, old)) if old and new else None
    available = [c for c in columns_at(con, new or old) if old_columns is None or c in old_columns]
    model = model_for(name)
    if only is not None and model is not None and old and new:
        key = row_key(model, table)
        match = " AND ".join(f"k.{quote(c)} IS NOT DISTINCT FROM r.{quote(c)}" for c in key)
        # A required first key column also filters with IN, which DuckDB pushes into the scan
        # (the EXISTS alone reads every row of the table).
        first = key[0] if key and key[0] in model.columns() and not model.columns()[key[0]].nullable else None
        scan = f" WHERE {quote(first)} IN (SELECT {quote(first)} FROM {only})" if first else ""
        old, new = (f"(SELECT * FROM (SELECT * FROM {rel}{scan}) r WHERE EXISTS (SELECT 1 FROM {only} k WHERE {match}))"
                    for rel in (old, new))
    if model is not None:
        compared = [c for c in compared_columns(model, table) if c in available]
        key = [k for k in row_key(model, table) if k in available]
    else:  # a table published by an older version whose schema is gone: compare what is there
        compared = [c for c in available if c not in table.volatile]
        key = compared
    concerns = [c for c in CONCERNS if c in available]
    return diff_sql(old, new, key, compared, concerns)


def diff(con: duckdb.DuckDBPyConnection, old_snapshot: int | None, new_snapshot: int,
         limit: int | None = None, tables: list[str] | None = None, only: dict[str, str] | None = None,
         feeds: Feeds | None = None) -> list[TableDiff]:
    """Per published table (or those of `tables`), the rows added, removed and changed between two
    snapshots (old None: nothing published before). `limit`: fetch at most that many rows per
    table (0: counts only); the counts are always complete. `only`: per table, the keys outside
    which both snapshots are known to hold the same rows (see table_diff_sql); a table without
    one that is the same table at both snapshots is compared on the keys of the rows DuckLake's
    change feed says were inserted or deleted in between (none: nothing is compared). `feeds`: the
    change feeds of these two snapshots, as read before (Feeds)."""
    if feeds is None or (feeds.old, feeds.new) != (old_snapshot, new_snapshot):
        feeds = Feeds(con, old_snapshot, new_snapshot) if old_snapshot is not None else None
    old_tables = set(feeds.tables_at(old_snapshot)) if feeds is not None else set()
    new_tables = set(feeds.tables_at(new_snapshot) if feeds is not None else tables_at(con, new_snapshot))
    result = []
    for table in PUBLISHED_TABLES:
        if table.name not in old_tables | new_tables or (tables is not None and table.name not in tables):
            continue
        keys = (only or {}).get(table.name)
        if keys is None and table.name in old_tables & new_tables:
            keys = feeds.keys(table.name)
            if keys == "":
                result.append(TableDiff(table.name, [], {}))
                continue
        query = table_diff_sql(con, table.name, old_snapshot if table.name in old_tables else None,
                               new_snapshot if table.name in new_tables else None, keys)
        if limit is None:
            result.append(TableDiff(table.name, con.execute(query).fetchall()))
            continue
        if not limit:
            counts = dict(con.execute(f"SELECT change, count(*) FROM ({query}) GROUP BY change").fetchall())
            rows = []
        else:  # the comparison runs once: its rows are counted and the first fetched from a temp table
            con.execute(f"CREATE OR REPLACE TEMP TABLE factledger_diff_rows AS {query}")
            try:
                counts = dict(con.execute("SELECT change, count(*) FROM temp.main.factledger_diff_rows GROUP BY change").fetchall())
                rows = con.execute(f"SELECT * FROM temp.main.factledger_diff_rows ORDER BY change, key LIMIT {int(limit)}").fetchall()
            finally:
                con.execute("DROP TABLE IF EXISTS temp.main.factledger_diff_rows")
        result.append(TableDiff(table.name, rows, {c: counts[c] for c in CHANGES if c in counts}))
    return result


def feed_keys(con: duckdb.DuckDBPyConnection, name: str, old_snapshot: int, new_snapshot: int) -> str | None:
    """A relation of the keys of published table `name`'s rows inserted or deleted between two
    snapshots (from the change feed), with their `article_id` when the table has one; "" when there
    are none, None when the feed cannot say (versions.same_table) or the table has no model."""
    model = model_for(name)
    if model is None:
        return None
    if old_snapshot == new_snapshot:
        return ""
    if not same_table(con, name, old_snapshot, new_snapshot):
        return None
    table = next(t for t in PUBLISHED_TABLES if t.name == name)
    columns = list(dict.fromkeys([*row_key(model, table), *(["article_id"] if "article_id" in model.columns() else [])]))
    temp = quote(f"factledger_feed_{name}_{int(old_snapshot)}_{int(new_snapshot)}")
    keys = f"temp.main.{temp}"  # read once: the comparison uses it four times
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {temp} AS SELECT DISTINCT "
                    f"{', '.join(quote(k) for k in columns)} FROM {change_feed(name, old_snapshot, new_snapshot)}")
        if not con.execute(f"SELECT count(*) FROM {keys}").fetchone()[0]:
            return ""
    except duckdb.Error:
        return None
    return keys


class Feeds:
    """What changed between two snapshots, read once for every reader (the report's diff page, its
    changed claims and the article pages it takes over): each published table's change feed
    (feed_keys) and the tables present at either snapshot."""

    def __init__(self, con: duckdb.DuckDBPyConnection, old_snapshot: int, new_snapshot: int,
                 present: list[str] | None = None) -> None:
        self.con, self.old, self.new = con, old_snapshot, new_snapshot
        self._keys: dict[str, str | None] = {}
        self._present: dict[int, list[str]] = {} if present is None else {new_snapshot: present}
        self._touched: set[str] | None = None

    def tables_at(self, snapshot: int) -> list[str]:
        if snapshot not in self._present:
            self._present[snapshot] = tables_at(self.con, snapshot)
        return self._present[snapshot]

    def keys(self, name: str) -> str | None:
        """feed_keys of table `name` between the two snapshots ("" without reading its feed when no
        snapshot in between touched it: lakestate.changed_between)."""
        if name not in self._keys:
            if self._touched is None:
                try:
                    self._touched = changed_between(self.con, PUBLISHED_SCHEMA, self.old, self.new)
                except duckdb.Error:
                    self._touched = {t.name for t in PUBLISHED_TABLES}
            untouched = name not in self._touched and name in self.tables_at(self.new)
            self._keys[name] = "" if untouched else feed_keys(self.con, name, self.old, self.new)
        return self._keys[name]

    def values(self, name: str, column: str) -> set | None:
        """The distinct `column` (a key column, or article_id) of the rows of table `name` its change
        feed lists; None when the feed cannot say."""
        keys = self.keys(name)
        if keys is None or keys == "":
            return None if keys is None else set()
        return {v for v, in self.con.execute(f"SELECT DISTINCT {quote(column)} FROM {keys}").fetchall()}


def changes_summary(diffs: list[TableDiff]) -> str:
    changed = [d.summary() for d in diffs if d.changed]
    return "; ".join(changed) if changed else "no row changed"
