"""Figures: the stated ones plus every cell that follows from them by arithmetic, in SQL.

Derivations, each cell with its formula and the figure_ids it came from:
- totals from additive parts (a missing total, or a single missing part), for any dimension a
  source declares additive, repeated until nothing new follows;
- `change_of` measures: the difference or percent change of a measure's cells between
  consecutive periods of the same length;
- a part's share of its total, in percent, along any dimension (measure `<measure>_share_of_<dim>`).

A stated cell that can also be derived is kept as stated and compared with its derivation in
`figure_derivations`, at the stated cell's own rounding and hedge (the `derivations_agree` check).
Cells are identified only through factledger/cells.py.

A rebuild is skipped when neither its input tables (INPUTS), nor its output tables, nor this code
changed since the last one (`built_before`, `remember`; kept in the check memo, as a check's pass
is): a run that leaves the sources alone derives nothing again.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import duckdb

from factledger import cells, checkmemo, lakestate, sql
from factledger.cells import FIGURE_ID_SQL, install_macros

MAX_DERIVATION_ROUNDS = 10
SHARE_SUFFIX = "_share_of_"
CELL = ("source_id", "measure", "dims", "period_start", "period_end")

# Parts of an additive dimension and the totals they add up to, over any figures relation.
# Only measures that are counts (not percentages, not changes) add up.
_ADDITIVE_CELLS = """
    SELECT f.*, d.dimension, d.value AS dim_value, d.is_total, dims_without(f.dims, d.dimension) AS rest
    FROM {table} f
    JOIN source_measures m ON m.source_id = f.source_id AND m.measure = f.measure
         AND m.change_of IS NULL AND m.unit <> 'percent'
    JOIN source_dimensions d ON d.source_id = f.source_id AND d.additive
         AND list_contains(string_split(m.dimensions, ', '), d.dimension) AND dims_value(f.dims, d.dimension) = d.value
"""
_PARTS = """
    SELECT p.source_id, p.measure, p.dimension, p.rest, p.period_start, p.period_end,
           count(*) AS n_present, sum(p.value) AS parts_sum, bool_and(NOT p.derived) AS all_stated,
           string_agg(p.figure_id, ', ' ORDER BY p.dim_value) AS part_ids,
           string_agg(p.dim_value, ' + ' ORDER BY p.dim_value) AS part_names,
           string_agg(printf('%,.15g', p.value), ' + ' ORDER BY p.dim_value) AS part_values,
           any_value(n.n_parts) AS n_parts, any_value(n.total_value) AS total_name
    FROM ({cells}) p
    JOIN (SELECT source_id, dimension, count(*) FILTER (WHERE NOT is_total) AS n_parts,
                 any_value(value) FILTER (WHERE is_total) AS total_value
          FROM source_dimensions WHERE additive GROUP BY ALL) n USING (source_id, dimension)
    WHERE NOT p.is_total
    GROUP BY ALL
"""
_SAME_PLACE = ("t.source_id = g.source_id AND t.measure = g.measure AND t.dimension = g.dimension AND t.rest = g.rest "
               "AND t.period_start IS NOT DISTINCT FROM g.period_start AND t.period_end IS NOT DISTINCT FROM g.period_end")

# Consecutive periods of the same length, pairs of cells of the measure a change measure is of.
_CHANGES = """
    SELECT c.source_id, c.measure, cur.dims, cur.period_start, cur.period_end, c.change,
           CASE c.change WHEN 'difference' THEN cur.value - prev.value
                ELSE round((cur.value - prev.value) / prev.value * 100, 6) END AS value,
           CASE c.change
                WHEN 'difference' THEN printf('%s - %s = %,.15g - %,.15g', cur.figure_id, prev.figure_id, cur.value, prev.value)
                ELSE printf('(%s - %s) / %s x 100 = (%,.15g - %,.15g) / %,.15g x 100', cur.figure_id, prev.figure_id,
                            prev.figure_id, cur.value, prev.value, prev.value) END AS formula,
           cur.figure_id || ', ' || prev.figure_id AS derived_from,
           c.unit
    FROM source_measures c
    JOIN {table} cur ON cur.source_id = c.source_id AND cur.measure = c.change_of
    JOIN {table} prev ON prev.source_id = cur.source_id AND prev.measure = cur.measure AND prev.dims = cur.dims
         AND CAST(prev.period_end + INTERVAL 1 DAY AS DATE) = cur.period_start
         AND date_diff('month', prev.period_start, CAST(prev.period_end + INTERVAL 1 DAY AS DATE))
           = date_diff('month', cur.period_start, CAST(cur.period_end + INTERVAL 1 DAY AS DATE))
    WHERE c.change_of IS NOT NULL AND (c.change = 'difference' OR prev.value <> 0)
"""

# A part's share of its total along one dimension.
_SHARES = """
    SELECT part.source_id, part.measure || '{share}' || d.dimension AS measure, part.dims, part.period_start, part.period_end,
           round(part.value / total.value * 100, 6) AS value,
           printf('%s / %s x 100 = %,.15g / %,.15g x 100', part.figure_id, total.figure_id, part.value, total.value) AS formula,
           part.figure_id || ', ' || total.figure_id AS derived_from
    FROM {table} part
    JOIN source_measures m ON m.source_id = part.source_id AND m.measure = part.measure
         AND m.change_of IS NULL AND m.unit <> 'percent'
    JOIN source_dimensions d ON d.source_id = part.source_id AND NOT d.is_total
         AND list_contains(string_split(m.dimensions, ', '), d.dimension) AND dims_value(part.dims, d.dimension) = d.value
    JOIN source_dimensions dt ON dt.source_id = d.source_id AND dt.dimension = d.dimension AND dt.is_total
    JOIN {table} total ON total.source_id = part.source_id AND total.measure = part.measure
         AND total.dims = dims_with(dims_without(part.dims, d.dimension), d.dimension, dt.value)
         AND total.period_start IS NOT DISTINCT FROM part.period_start AND total.period_end IS NOT DISTINCT FROM part.period_end
    WHERE total.value > 0 AND part.value >= 0
"""

_INSERT_DERIVED = """
    INSERT INTO figures_work BY NAME
    SELECT NULL AS figure_id, source_id, measure, dims, period_start, period_end, value, NULL AS decimals, unit,
           'none' AS qualifier, TRUE AS derived, formula, derived_from, 'derived' AS basis, NULL AS reported_by, rule
    FROM ({rows}) n
    WHERE NOT EXISTS (SELECT 1 FROM figures_work w WHERE w.source_id = n.source_id AND w.measure = n.measure AND w.dims = n.dims
                      AND w.period_start IS NOT DISTINCT FROM n.period_start AND w.period_end IS NOT DISTINCT FROM n.period_end)
    -- one cell may follow by two routes in one round: keep one (the same value, by the totals check)
    QUALIFY row_number() OVER (PARTITION BY source_id, measure, dims, period_start, period_end ORDER BY formula) = 1
"""


def _totals_from_parts(table: str) -> str:
    return f"""
        SELECT g.source_id, g.measure, dims_with(g.rest, g.dimension, g.total_name) AS dims, g.period_start, g.period_end,
               g.parts_sum AS value, m.unit, 'total' AS rule,
               g.dimension || ': ' || g.total_name || ' = ' || g.part_names || ' = ' || g.part_values AS formula,
               g.part_ids AS derived_from
        FROM ({_PARTS.format(cells=_ADDITIVE_CELLS.format(table=table))}) g
        JOIN source_measures m USING (source_id, measure)
        WHERE g.n_present = g.n_parts"""


def _part_from_total() -> str:
    cells = _ADDITIVE_CELLS.format(table="figures_work")
    return f"""
        SELECT g.source_id, g.measure, dims_with(g.rest, g.dimension, missing.value) AS dims, g.period_start, g.period_end,
               t.value - g.parts_sum AS value, t.unit, 'part' AS rule,
               g.dimension || ': ' || missing.value || ' = ' || g.total_name || ' - (' || g.part_names || ') = '
                 || printf('%,.15g', t.value) || ' - (' || g.part_values || ')' AS formula,
               t.figure_id || ', ' || g.part_ids AS derived_from
        FROM ({cells}) t
        JOIN ({_PARTS.format(cells=cells)}) g ON {_SAME_PLACE}
        JOIN source_dimensions missing ON missing.source_id = g.source_id AND missing.dimension = g.dimension AND NOT missing.is_total
        WHERE t.is_total AND g.n_present = g.n_parts - 1
          AND NOT EXISTS (SELECT 1 FROM ({cells}) p WHERE p.source_id = g.source_id AND p.measure = g.measure
                          AND p.dimension = g.dimension AND p.rest = g.rest AND p.dim_value = missing.value
                          AND p.period_start IS NOT DISTINCT FROM g.period_start AND p.period_end IS NOT DISTINCT FROM g.period_end)"""


def _name_new_cells(con: duckdb.DuckDBPyConnection) -> None:
    # Named at once: a later derivation may cite them in derived_from.
    con.execute(f"UPDATE figures_work SET figure_id = {FIGURE_ID_SQL} WHERE figure_id IS NULL")


def _insert(con: duckdb.DuckDBPyConnection, rows_sql: str) -> int:
    added = con.execute(_INSERT_DERIVED.format(rows=rows_sql)).fetchone()[0]
    _name_new_cells(con)
    return added


def rebuild_figures(con: duckdb.DuckDBPyConnection) -> dict:
    """Replace `figures` (and `figure_dimensions`, `figure_derivations`) with the stated figures
    plus all derivable cells. Returns counts."""
    install_macros(con)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE figures_work AS
        SELECT figure_id, source_id, measure, dims, period_start, period_end, value, decimals, unit, qualifier,
               FALSE AS derived, CAST(NULL AS VARCHAR) AS formula, CAST(NULL AS VARCHAR) AS derived_from, basis, reported_by,
               'stated' AS rule
        FROM official_figures""")
    rounds = 0
    while rounds < MAX_DERIVATION_ROUNDS:
        rounds += 1
        added = _insert(con, _totals_from_parts("figures_work")) + _insert(con, _part_from_total())
        added += _insert(con, f"SELECT *, 'change' AS rule FROM ({_CHANGES.format(table='figures_work')})")
        if added == 0:
            break
    _insert(con, f"SELECT *, 'percent' AS unit, 'share' AS rule FROM ({_SHARES.format(table='figures_work', share=SHARE_SUFFIX)})")
    # Each table is rewritten only when its rows differ: an unchanged one keeps its lake snapshot, so
    # the checks that read it are not evaluated again (factledger/checkmemo.py) and nothing is exported.
    changed = [table for table, rows in (
        ("figures", """
            SELECT f.* EXCLUDE (rule), CASE WHEN f.period_start IS NULL AND f.period_end IS NULL THEN s.as_of_date END AS as_of_date
            FROM figures_work f JOIN sources s USING (source_id)"""),
        ("figure_dimensions", """
            SELECT figure_id, source_id, split_part(pair, '=', 1) AS dimension, substr(pair, strpos(pair, '=') + 1) AS value
            FROM figures, unnest(string_split(dims, ', ')) AS p(pair) WHERE dims <> ''"""),
        ("figure_derivations", _derivations_of_stated()),
    ) if replace_if_changed(con, table, rows)]
    return {**counts(con), "rounds": rounds, "changed": changed}


def replace_if_changed(con: duckdb.DuckDBPyConnection, table: str, rows_sql: str) -> bool:
    """Make `table` hold exactly the rows of `rows_sql` (matched by column name), writing it only
    when they differ from what it holds (as multisets). Returns whether it was written."""
    name = sql.identifier(table)
    columns = ", ".join(sql.identifier(d[0]) for d in con.execute(f"SELECT * FROM {name} LIMIT 0").description)
    con.execute(f"CREATE OR REPLACE TEMP TABLE replacement AS SELECT {columns} FROM ({rows_sql})")
    [(differing,)] = con.execute(f"""
        SELECT count(*) FROM (
            (SELECT {columns} FROM replacement EXCEPT ALL SELECT {columns} FROM {name})
            UNION ALL
            (SELECT {columns} FROM {name} EXCEPT ALL SELECT {columns} FROM replacement))""").fetchall()
    if differing:
        con.execute(f"DELETE FROM {name}; INSERT INTO {name} ({columns}) SELECT {columns} FROM replacement")
    con.execute("DROP TABLE replacement")
    return bool(differing)


def _derivations_of_stated() -> str:
    """Each stated cell that could also be derived, beside its derivation and whether they agree."""
    candidates = f"""
        SELECT source_id, measure, dims, period_start, period_end, value, formula, derived_from, 'total' AS rule
        FROM ({_totals_from_parts('figures')})
        UNION ALL
        SELECT source_id, measure, dims, period_start, period_end, value, formula, derived_from, 'change' AS rule
        FROM ({_CHANGES.format(table='figures')})"""
    return f"""
        SELECT s.figure_id, s.source_id, d.rule, s.value AS stated_value, s.decimals, s.qualifier,
               d.value AS derived_value, d.formula, d.derived_from,
               {agrees_sql('s.value', 's.decimals', 's.qualifier', 'd.value')} AS agrees
        FROM figures s JOIN ({candidates}) d
          ON d.source_id = s.source_id AND d.measure = s.measure AND d.dims = s.dims
         AND d.period_start IS NOT DISTINCT FROM s.period_start AND d.period_end IS NOT DISTINCT FROM s.period_end
        WHERE NOT s.derived"""


def agrees_sql(stated: str, decimals: str, qualifier: str, derived: str) -> str:
    """Whether a derived value is consistent with a stated one at the stated rounding (half a unit
    of its last decimal) and hedge. On a negative value (a decrease) a hedge bounds the size of the
    change: 'at least -15' means a decline of 15 or more."""
    tol = f"(0.5 * pow(10, -coalesce({decimals}, 0)) + 1e-9)"
    m = f"(CASE WHEN {stated} < 0 THEN -1 ELSE 1 END)"
    s, d = f"({m} * {stated})", f"({m} * {derived})"
    return f"""(CASE {qualifier}
        WHEN 'at_least' THEN {d} >= {s} - {tol}
        WHEN 'more_than' THEN {d} > {s} - {tol}
        WHEN 'at_most' THEN {d} <= {s} + {tol}
        WHEN 'less_than' THEN {d} < {s} + {tol}
        WHEN 'nearly' THEN {d} < {s} + {tol} AND {d} >= {s} * 0.9
        WHEN 'about' THEN abs({derived} - {stated}) <= 2 * {tol}
        ELSE abs({derived} - {stated}) <= {tol} END)"""


# What a rebuild reads and writes (tests/foundation/test_sources_sync.py holds them to the SQL above).
INPUTS = ("official_figures", "sources", "source_measures", "source_dimensions")
OUTPUTS = ("figures", "figure_dimensions", "figure_derivations")
MEMO_KEY = "figures.rebuild"  # its row in the check memo


@functools.cache
def _code() -> str:
    """What a rebuild computes, as code: this module's and cells.py's source."""
    return "figures:" + hashlib.sha256(Path(__file__).read_bytes() + Path(cells.__file__).read_bytes()).hexdigest()


def build_state(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """{table: the last snapshot that changed it} of the input and output tables of a rebuild that
    the lake knows of (a table never written is absent: no rebuild is skipped without it)."""
    try:
        return {t: s for t, (s, _) in lakestate.table_states(con).items() if t in INPUTS + OUTPUTS}
    except duckdb.Error:
        return {}


def _memo_key(con: duckdb.DuckDBPyConnection, state: dict[str, int]) -> str | None:
    return checkmemo.inputs_key(con, _code(), state) if len(state) == len(INPUTS + OUTPUTS) else None


def built_before(con: duckdb.DuckDBPyConnection, state: dict[str, int]) -> str | None:
    """The run id of the rebuild that left the figures as they are, when nothing it reads or
    writes, nor the code, changed since (`state`: build_state now); else None."""
    found = checkmemo.passed_before(con, MEMO_KEY, _memo_key(con, state))
    return None if found is None else (found[1] or "")


def remember(con: duckdb.DuckDBPyConnection, before: dict[str, int], run_id: str | None) -> bool:
    """After a rebuild (committed), record the state it left (build_state), unless an input changed
    since `before` (build_state as it started): a later rebuild is skipped only on those tables.
    Whether it was recorded."""
    now = build_state(con)
    same_inputs = all(t in before and now.get(t) == before[t] for t in INPUTS)
    key = _memo_key(con, now) if same_inputs else None
    checkmemo.record(con, MEMO_KEY, key, key is not None, None, run_id)
    return key is not None


def counts(con: duckdb.DuckDBPyConnection) -> dict:
    """The figures' counts as rebuild_figures returns them, for figures left as they are."""
    stated, derived = con.execute("SELECT count(*) FILTER (NOT derived), count(*) FILTER (derived) FROM figures").fetchone()
    return {"stated": stated, "derived": derived, "rounds": 0, "changed": []}
