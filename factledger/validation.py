"""Checks as queries: every check returns the rows that break it, and passes when there are none.

One shape for every result, whatever the check: `CheckOutcome` (the offending rows as real
columns, how many rows were checked, how many break it). Two ways to get one:

- `offending_rows(con, sql)`: a check written as one SQL query returning its offending rows
  (the warnings: refused inputs, quarantined articles, flagged dates, name variants);
- `validate(con, model)`: a pandera model, compiled into one SQL pass over its table (or over a
  check view's query, `model._rows_sql`). Every column check, not-null rule and dataframe check
  of the model becomes a boolean column of that pass, which returns each failing (row, rule) pair.
  pandera stays the one definition of each check (its builtin check functions build the
  expressions); this module only decides how they run: one pass instead of pandera.ibis's queries
  per check (benchmarks/bench_checks.py measures both against hand-written SQL).

A failing row of an input table names the raw file and line it came from (`model._file_sql`,
`model._line_sql`; for a front-matter or descriptor field, `line_of(file, column)` finds it).
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandera.ibis as pa
from pandera.api.function_dispatch import Dispatcher
from pandera.api.ibis.types import IbisData
from pandera.backends.ibis import builtin_checks as ibis_builtin_checks

from factledger import checkmemo, versions
from factledger.sql import identifier, literal
from schemas._base import LakeTable, duckdb_type

MAX_ROWS_KEPT = 200
FILE, LINE = "file", "line"
CHECKED = "__checked"


@dataclass(frozen=True)
class CheckOutcome:
    """The rows that break a check (at most MAX_ROWS_KEPT of them, in a stable order), with how
    many there are in all and how many rows were checked (None when not counted). `narrowed`: the
    check was evaluated again only on the rows of this many values of its model's `_narrow_by`
    column, those changed since it last passed (its other rows passed then and are unchanged);
    None when it was evaluated on every row."""

    columns: tuple[str, ...]
    rows: tuple[tuple, ...] = ()
    failure_count: int = 0
    rows_checked: int | None = None
    narrowed: int | None = None

    @property
    def passed(self) -> bool:
        return self.failure_count == 0

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def rules(self) -> list[str]:
        """The distinct broken rules, when the rows have a `check` column."""
        if "check" not in self.columns:
            return []
        at = self.columns.index("check")
        return sorted({str(row[at]) for row in self.rows})

    def markdown(self, limit: int = 50) -> str:
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(_cell(v).replace("|", "/") for v in row) + " |" for row in self.rows[:limit]]
        if self.failure_count > min(limit, len(self.rows)):
            lines.append("| … " + "| " * (len(self.columns) - 1) + f"| {self.failure_count - min(limit, len(self.rows))} more |")
        return "\n".join(lines)


def _cell(value) -> str:
    return "" if value is None else str(value)


def offending_rows(con: duckdb.DuckDBPyConnection, sql: str) -> CheckOutcome:
    """A check written as one query that returns its offending rows (ordered as they should show)."""
    relation = con.sql(sql)
    count = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    rows = relation.limit(MAX_ROWS_KEPT).fetchall() if count else []
    return CheckOutcome(tuple(relation.columns), tuple(rows), count)


# --- pandera models compiled to SQL ------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One check of a model: its name as pandera reports it, the column it is on (None for a
    row check), and whether a row's outcome depends on that row alone (no window, no aggregate).
    `partitions`: for a rule that is not row-wise, the columns of each window it reads, when every
    one of them reads whole partitions of rows (an aggregate per group: the key's uniqueness, a
    body's); a row's outcome then depends on the rows sharing its values of those columns alone."""

    name: str
    column: str | None
    row_wise: bool = True
    partitions: tuple[tuple[str, ...], ...] = ()


KEY_RULE = "key_is_unique"  # LakeTable's own check of `_key`: a window over the key's columns
# A check narrowed to the rows of more changed values than this is evaluated whole instead.
MAX_NARROWED = 5_000


@dataclass(frozen=True)
class CompiledModel:
    """A model's checks as one SQL pass: `flags_sql` adds a boolean `__ok<i>` per rule to every row."""

    rules: tuple[Rule, ...]
    identifying: tuple[str, ...]
    relation_sql: str
    flags_sql: str
    has_provenance: bool
    narrow_by: str | None = None  # see `narrowed`
    partitions: tuple[tuple[tuple[str, ...], bool], ...] = ()  # the rules' windows' columns; whether one may be null

    def narrowed(self, values: list, tables: tuple[str, ...] = ()) -> "CompiledModel":
        """The same checks over only the rows whose `narrow_by` column is one of `values`, and the
        rows sharing a partition of a rule's window with them (the key's rows, a body's rows: the
        window sees every row of theirs). Given that every other rule reads one row at a time
        (compile_model makes sure), a table whose other rows passed and did not change passes whole
        when these pass.

        `tables`: for a check view, the tables its query reads. Each is read restricted to `values`
        too (the view joins them on `narrow_by`, schemas/_base.py): DuckDB does not push a filter
        on a view's output through its outer join (it read every article body for one article).
        The rows sharing a partition are a second branch of their own: an OR of the two filters
        is not pushed into the scan either, and read every claim."""
        if self.narrow_by is None:
            raise ValueError("this model's checks cannot be narrowed")
        listed = ", ".join(_sql_value(v) for v in values) or "NULL"
        column = identifier(self.narrow_by)
        where = f"{column} IN ({listed})"
        # (A common table expression named like a table reads the table itself inside its own body.)
        restricted = ", ".join(f"{identifier(t)} AS (SELECT * FROM {identifier(t)} WHERE {where})" for t in sorted(tables))
        own = f"{f'WITH {restricted} ' if restricted else ''}SELECT * FROM ({self.relation_sql}) AS __all WHERE {where}"
        near = []
        for part, nullable in self.partitions:
            if self.narrow_by in part:  # its rows share one value of narrow_by
                continue
            # A window puts nulls in one partition; IN on a row of values would not match them, on a struct it does.
            cols = (f"struct_pack({', '.join(f'k{i} := {identifier(c)}' for i, c in enumerate(part))})" if nullable
                    else ", ".join(identifier(c) for c in part))
            near.append(f"({cols}) IN (SELECT {cols} FROM ({self.relation_sql}) AS __near WHERE {where})")
        if not near:
            return dataclasses.replace(self, relation_sql=own)
        return dataclasses.replace(self, relation_sql=(
            f"SELECT * FROM ({own}) AS __own UNION ALL SELECT * FROM ({self.relation_sql}) AS __all "
            f"WHERE ({' OR '.join(near)}) AND NOT coalesce({where}, FALSE)"))

    def _with(self) -> str:
        return f"WITH {CHECKED} AS ({self.relation_sql}), __flags AS ({self.flags_sql})"

    def _all_ok(self) -> str:
        return " AND ".join(f"__ok{i}" for i in range(len(self.rules))) or "TRUE"

    def failures_sql(self) -> str:
        """One row per failing (row, rule) pair (the first MAX_ROWS_KEPT): the rule, its column and
        value, the row's key; and, last, how many pairs there are in all. The one pass over the
        rows a check costs (with a count of them, which DuckDB answers from metadata)."""
        rules = ", ".join(f"({i}, {literal(r.name)}, {literal(r.column) if r.column else 'NULL'})"
                          for i, r in enumerate(self.rules))
        broken = "CASE __rule.i " + " ".join(f"WHEN {i} THEN NOT __ok{i}" for i in range(len(self.rules))) + " END"
        on_columns = [(i, r.column) for i, r in enumerate(self.rules) if r.column]
        value = ("CASE __rule.i " + " ".join(f"WHEN {i} THEN CAST({identifier(c)} AS VARCHAR)" for i, c in on_columns)
                 + " END") if on_columns else "NULL"
        shown = ", ".join(identifier(c) for c in self.identifying)
        provenance = f", __file AS {FILE}, __line AS {LINE}" if self.has_provenance else ""
        order = ", ".join(["__rule.i", *(identifier(c) for c in self.identifying)])
        return f"""{self._with()}, __failing AS (SELECT * FROM __flags WHERE NOT ({self._all_ok()}))
            SELECT __rule."check", __rule."column", {value} AS value, {shown}{provenance}, count(*) OVER () AS __pairs
            FROM __failing JOIN (VALUES {rules}) AS __rule(i, "check", "column") ON {broken}
            ORDER BY {order} LIMIT {MAX_ROWS_KEPT}"""

    @property
    def columns(self) -> tuple[str, ...]:
        return ("check", "column", "value", *self.identifying, *((FILE, LINE) if self.has_provenance else ()))


def rows_sql(model: type[LakeTable]) -> str:
    """The rows `model` checks: its table, or its check view's query."""
    return model._rows_sql or f"SELECT * FROM {identifier(model.table_name())}"


@functools.lru_cache(maxsize=None)
def compile_model(model: type[LakeTable]) -> CompiledModel:
    """The model's checks as boolean columns of one pass over its rows (see the module docstring)."""
    schema = model.to_schema()
    types = {name: col.dtype.type for name, col in schema.columns.items()}
    provenance = model._file_sql is not None
    relation = rows_sql(model)
    if provenance:
        types |= {"__file": ibis.dtype("string"), "__line": ibis.dtype("int64")}
        relation = (f"SELECT t.*, {model._file_sql} AS __file, CAST({model._line_sql or 'NULL'} AS BIGINT) AS __line "
                    f"FROM ({relation}) AS t")
    table = ibis.table(types, name=CHECKED)
    rules: list[Rule] = []
    oks: dict[str, ir.BooleanValue] = {}
    for name, col in schema.columns.items():
        if not col.nullable:
            rules.append(Rule("not_nullable", name))
            oks[f"__ok{len(oks)}"] = table[name].notnull()
        for check in col.checks:
            oks[f"__ok{len(oks)}"] = expr = _predicate(table, check, name)
            rules.append(Rule(str(check.error or check.name), name, _row_wise(expr), _partitions(expr)))
    for check in schema.checks:
        oks[f"__ok{len(oks)}"] = expr = _predicate(table, check, None)
        rules.append(Rule(str(check.name), None, _row_wise(expr), _partitions(expr)))
    flags = table.mutate(**{k: v.fill_null(True) for k, v in oks.items()})
    narrowable = model._narrow_by is not None and all(r.row_wise or r.partitions for r in rules)
    nullable = {name: col.nullable for name, col in schema.columns.items()}
    partitions = tuple((part, any(nullable.get(c, True) for c in part))
                       for part in dict.fromkeys(p for r in rules for p in r.partitions))
    return CompiledModel(tuple(rules), model.shown(), relation,
                         ibis.to_sql(flags, dialect="duckdb"), provenance,
                         model._narrow_by if narrowable else None, partitions)


def _row_wise(expr: ir.Value) -> bool:
    """Whether a rule's outcome for a row reads that row alone: no window, no aggregate."""
    return not expr.op().find((ops.WindowFunction, ops.Reduction))


def _partitions(expr: ir.Value) -> tuple[tuple[str, ...], ...]:
    """The columns of each window a rule reads, when each reads a whole partition of the rows by
    plain columns (no order, no frame) and the rule has no aggregate outside them; () otherwise
    (and for a row-wise rule)."""
    op = expr.op()
    windows = op.find(ops.WindowFunction)
    inside = {id(r) for w in windows for r in w.func.find(ops.Reduction)}
    if not windows or any(id(r) not in inside for r in op.find(ops.Reduction)):
        return ()
    parts = []
    for w in windows:
        if w.order_by or w.start is not None or w.end is not None or not w.group_by \
                or not all(isinstance(g, ops.Field) for g in w.group_by):
            return ()
        parts.append(tuple(g.name for g in w.group_by))
    return tuple(dict.fromkeys(parts))


def _sql_value(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"cannot narrow a check by a value of type {type(value).__name__}")
    return literal(value) if isinstance(value, str) else str(int(value))


def _predicate(table: ir.Table, check: pa.Check, column: str | None) -> ir.BooleanValue:
    """A pandera check's output on `table` as one boolean expression (true where a row passes;
    null counts as passing, as in pandera)."""
    if check.element_wise:
        raise TypeError(f"check {check.name!r} is element-wise (a Python function per value); write it as an ibis expression")
    out = _check_function(check)(IbisData(table, column), **_ordered(check._check_kwargs))
    if isinstance(out, dict):
        outputs = list(out.values())
    elif isinstance(out, ir.Table):  # builtin checks: a projection of `table` whose columns are the results
        outputs = [value.to_expr() for value in out.op().values.values()]
    else:
        outputs = [out]
    expr = outputs[0]
    for more in outputs[1:]:
        expr = expr & more
    return expr


def _ordered(kwargs: dict) -> dict:
    """A check's arguments with sets in one fixed order (pandera keeps isin's values as a set, whose
    order changes from process to process): the same model compiles to the same SQL everywhere, so
    the check memo (factledger/checkmemo.py), which keys on the SQL, finds earlier passes."""
    return {k: sorted(v, key=repr) if isinstance(v, (set, frozenset)) else v for k, v in kwargs.items()}


def _check_function(check: pa.Check):
    """The ibis function behind a check: a builtin check's own (read from pandera's ibis builtins by
    name, not through its dispatch table, which other pandera backends loaded in the same process
    can leave without the ibis entry), or the model's own check function."""
    if isinstance(check._check_fn, Dispatcher):
        return getattr(ibis_builtin_checks, check.name)
    return check._check_fn


def shape_problems(con: duckdb.DuckDBPyConnection, model: type[LakeTable]) -> list[tuple]:
    """(check, column, value) for each column that is missing or of another type than the model's."""
    actual = {row[0]: row[1] for row in con.execute(f"DESCRIBE ({rows_sql(model)})").fetchall()}
    problems = []
    for name, col in model.columns().items():
        expected = duckdb_type(col.dtype.type)
        if name not in actual:
            problems.append(("column present", name, "missing"))
        elif actual[name] != expected:
            problems.append((f"dtype('{expected}')", name, actual[name]))
    return problems


def validate(con: duckdb.DuckDBPyConnection, model: type[LakeTable],
             line_of: Callable[[str, str], int | None] | None = None,
             since: dict[str, int] | None = None, states: dict[str, int] | None = None) -> CheckOutcome:
    """Validate the model's rows (its table, or its check view) in DuckDB: one pass when they pass.

    `since` ({table: snapshot} of the check's last pass, checkmemo.passed_states) and `states`
    (the tables' snapshots now): when the model can be narrowed, only the rows of the values of
    its `_narrow_by` column that the tables' change feeds list in between are evaluated (at most
    MAX_NARROWED values; else, or when a feed cannot be read, every row)."""
    problems = shape_problems(con, model)
    if problems:
        return CheckOutcome(("check", "column", "value"), tuple(problems), len(problems))
    compiled = compile_model(model)
    changed = changed_since(con, compiled, since, states)
    checked = con.execute(f"SELECT count(*) FROM ({rows_sql(model)})").fetchone()[0]
    tables = tuple(sorted(checkmemo.tables_read(con, compiled.relation_sql))) if changed is not None and model._rows_sql else ()
    found = con.execute((compiled if changed is None else compiled.narrowed(changed, tables)).failures_sql()).fetchall()
    outcome = CheckOutcome(compiled.columns, tuple(r[:-1] for r in found), found[0][-1] if found else 0, checked,
                           None if changed is None else len(changed))
    return with_lines(outcome, line_of) if compiled.has_provenance and line_of is not None else outcome


def changed_since(con: duckdb.DuckDBPyConnection, compiled: CompiledModel, since: dict[str, int] | None,
                  states: dict[str, int] | None) -> list | None:
    """The values of the model's `narrow_by` column in the rows its tables' change feeds list
    between the snapshots of `since` and of `states` (sorted), or None: not narrowable, not the
    same tables, more than MAX_NARROWED values, or a feed that cannot be read."""
    if compiled.narrow_by is None or not since or not states or set(since) != set(states):
        return None
    values: set = set()
    for table, snapshot in sorted(states.items()):
        found = versions.changed_values(con, table, compiled.narrow_by, since[table], snapshot, schema="main",
                                        limit=MAX_NARROWED)
        if found is None or None in found:
            return None
        values |= found
        if len(values) > MAX_NARROWED:
            return None
    try:
        return sorted(values)
    except TypeError:
        return None


def with_lines(outcome: CheckOutcome, line_of: Callable[[str, str], int | None], field: str | None = None) -> CheckOutcome:
    """A failing row that names its file but no line gets the line of its field: `field`, or the
    `column` it fails on (a front-matter or descriptor key)."""
    at = {c: i for i, c in enumerate(outcome.columns)}
    rows = []
    for row in outcome.rows:
        row = list(row)
        name = field or (row[at["column"]] if "column" in at else None)
        if row[at[LINE]] is None and row[at[FILE]] is not None and name:
            row[at[LINE]] = line_of(row[at[FILE]], name)
        rows.append(tuple(row))
    return CheckOutcome(outcome.columns, tuple(rows), outcome.failure_count, outcome.rows_checked)
