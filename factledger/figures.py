"""Figures: load the stated ones and derive every cell that follows from them by arithmetic.

All set-based SQL over the lake; Python only loops over dimensions and fixpoint rounds.
"""
from __future__ import annotations

import duckdb

from schemas._base import DIMENSIONS

# The one definition of a figure's id: source:measure[:offense/custody/criminal_status][:start..end]
FIGURE_ID_SQL = (
    "source_id || ':' || measure"
    " || coalesce(':' || offense || '/' || custody || '/' || criminal_status, '')"
    " || CASE WHEN period_start IS NULL AND period_end IS NULL THEN ''"
    " ELSE ':' || coalesce(CAST(period_start AS VARCHAR), '') || '..' || coalesce(CAST(period_end AS VARCHAR), '') END"
)
FIGURE_COLUMNS = ("source_id", "measure", *DIMENSIONS, "period_start", "period_end")
MAX_DERIVATION_ROUNDS = 10
# Derived cells carry no hedge of their own and say how they were made (formula, derived_from).
_INSERT_DERIVED = (
    "INSERT INTO figures_work BY NAME SELECT TRUE AS derived, 'derived' AS basis, NULL AS reported_by, "
    "'none' AS qualifier, NULL AS figure_id,"
)


def _cell_key(dimension: str) -> list[str]:
    """Columns that identify a cell apart from `dimension`."""
    return [c for c in FIGURE_COLUMNS if c != dimension]


def _same_cell(left: str, right: str, dimension: str) -> str:
    return " AND ".join(f"{left}.{c} IS NOT DISTINCT FROM {right}.{c}" for c in _cell_key(dimension))


def _parts_sql(dimension: str, table: str) -> str:
    """Per cell (all columns but `dimension`), the known parts along `dimension` and their sum."""
    key = ", ".join(f"f.{c}" for c in _cell_key(dimension))
    return f"""
        SELECT {key}, count(*) AS n_present, sum(f.value) AS parts_sum, bool_and(NOT f.derived) AS all_stated,
               string_agg(f.figure_id, ', ' ORDER BY d.value) AS part_ids,
               string_agg(d.value, ' + ' ORDER BY d.value) AS part_names,
               string_agg(CAST(f.value AS VARCHAR), ' + ' ORDER BY d.value) AS part_values,
               any_value(n.n_parts) AS n_parts, any_value(n.total_value) AS total_name
        FROM {table} f
        JOIN source_dimensions d ON d.source_id = f.source_id AND d.dimension = '{dimension}'
             AND d.value = f.{dimension} AND d.additive AND NOT d.is_total
        JOIN (SELECT source_id, count(*) FILTER (WHERE NOT is_total) AS n_parts,
                     any_value(value) FILTER (WHERE is_total) AS total_value
              FROM source_dimensions WHERE dimension = '{dimension}' AND additive GROUP BY source_id) n
             ON n.source_id = f.source_id
        GROUP BY {key}"""


def _totals_sql(dimension: str, table: str) -> str:
    return f"""
        SELECT f.* FROM {table} f
        JOIN source_dimensions d ON d.source_id = f.source_id AND d.dimension = '{dimension}'
             AND d.value = f.{dimension} AND d.is_total AND d.additive"""


def _derive_round(con: duckdb.DuckDBPyConnection, dimension: str) -> int:
    """Add the cells of `dimension` that follow from known ones; return how many were added."""
    others = [c for c in FIGURE_COLUMNS if c != dimension]
    added = 0
    # A missing total is the sum of its parts.
    total_from_parts = f"""
        {_INSERT_DERIVED} {", ".join(f"g.{c}" for c in others)}, g.total_name AS {dimension}, g.parts_sum AS value,
               '{dimension}: ' || g.total_name || ' = ' || g.part_names || ' = ' || g.part_values AS formula,
               g.part_ids AS derived_from
        FROM ({_parts_sql(dimension, 'figures_work')}) g
        WHERE g.n_present = g.n_parts
          AND NOT EXISTS (SELECT 1 FROM ({_totals_sql(dimension, 'figures_work')}) t WHERE {_same_cell('t', 'g', dimension)})"""
    # A single missing part is the total minus the other parts.
    part_from_total = f"""
        {_INSERT_DERIVED} {", ".join(f"g.{c}" for c in others)}, m.value AS {dimension}, t.value - g.parts_sum AS value,
               '{dimension}: ' || m.value || ' = ' || t.{dimension} || ' - (' || g.part_names || ') = '
                 || t.value || ' - (' || g.part_values || ')' AS formula,
               t.figure_id || ', ' || g.part_ids AS derived_from
        FROM ({_totals_sql(dimension, 'figures_work')}) t
        JOIN ({_parts_sql(dimension, 'figures_work')}) g ON {_same_cell('t', 'g', dimension)}
        JOIN source_dimensions m ON m.source_id = g.source_id AND m.dimension = '{dimension}' AND NOT m.is_total
        WHERE g.n_present = g.n_parts - 1
          AND NOT EXISTS (SELECT 1 FROM figures_work p WHERE {_same_cell('p', 'g', dimension)} AND p.{dimension} = m.value)"""
    for statement in (total_from_parts, part_from_total):
        added += con.execute(statement).fetchone()[0]
        # Name new cells at once: a later derivation may cite them in derived_from.
        con.execute(f"UPDATE figures_work SET figure_id = {FIGURE_ID_SQL} WHERE figure_id IS NULL")
    return added


def rebuild_figures(con: duckdb.DuckDBPyConnection) -> dict:
    """Replace `figures` with the stated figures plus all derivable cells. Returns counts."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE figures_work AS
        SELECT figure_id, {", ".join(FIGURE_COLUMNS)}, value, qualifier, FALSE AS derived,
               CAST(NULL AS VARCHAR) AS formula, CAST(NULL AS VARCHAR) AS derived_from, basis, reported_by
        FROM official_figures""")
    additive = [r[0] for r in con.execute(
        "SELECT DISTINCT dimension FROM source_dimensions WHERE additive ORDER BY dimension").fetchall()]
    rounds = 0
    while rounds < MAX_DERIVATION_ROUNDS:
        rounds += 1
        if sum(_derive_round(con, d) for d in additive) == 0:
            break
    con.execute("""
        DELETE FROM figures;
        INSERT INTO figures BY NAME
        SELECT f.*, CASE WHEN f.period_start IS NULL AND f.period_end IS NULL THEN s.as_of_date END AS as_of_date
        FROM figures_work f JOIN sources s USING (source_id)""")
    stated, derived = con.execute("SELECT count(*) FILTER (NOT derived), count(*) FILTER (derived) FROM figures").fetchone()
    return {"stated": stated, "derived": derived, "rounds": rounds}


def figure_totals_sql(table: str = "figures") -> str:
    """Rows of the figure_totals check view: each total cell whose parts are all known."""
    additive = DIMENSIONS
    selects = [
        f"""SELECT t.figure_id AS total_figure_id, '{d}' AS dimension, t.value AS total_value,
                   CAST(g.parts_sum AS BIGINT) AS parts_sum, g.part_ids, g.all_stated AND NOT t.derived AS parts_stated
            FROM ({_totals_sql(d, table)}) t
            JOIN ({_parts_sql(d, table)}) g ON {_same_cell('t', 'g', d)}
            WHERE g.n_present = g.n_parts"""
        for d in additive
    ]
    return "\nUNION ALL\n".join(selects)
