"""A cell's identity: the one place that says how a figure's place in a source is written.

A cell is (source, measure, dimension values, period). The dimension values are any names a
source declares, so they are kept as one canonical text key, `dims`: `name=value` pairs sorted as
texts and joined by ", " (`drug=all, jurisdiction=US`; empty when the measure has no
dimensions). Python builds and reads the key with `dims_key` / `parse_dims`; SQL builds figure ids
with `FIGURE_ID_SQL` and edits keys with the macros of `DIMS_MACROS`. Nothing else spells a key.
"""
from __future__ import annotations

import re

import duckdb

PAIR_SEPARATOR = ", "
# Dimension names and values are identifiers, so a key can always be split again.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+$")


def dims_key(dims: dict[str, str | None]) -> str:
    """`{'jurisdiction': 'US', 'drug': 'all'}` -> `drug=all, jurisdiction=US` (unset values left out)."""
    # Sorted as whole `name=value` texts, exactly as SQL's list_sort in `dims_with` sorts them.
    return PAIR_SEPARATOR.join(sorted(f"{name}={value}" for name, value in dims.items() if value is not None))


def parse_dims(key: str | None) -> dict[str, str]:
    """The inverse of `dims_key`."""
    if not key:
        return {}
    return dict(pair.split("=", 1) for pair in key.split(PAIR_SEPARATOR))


def valid_name(text: str) -> bool:
    return bool(NAME_PATTERN.match(text))


# source:measure[:dims][:start..end] -- over any relation with those columns.
FIGURE_ID_SQL = (
    "source_id || ':' || measure"
    " || CASE WHEN coalesce(dims, '') = '' THEN '' ELSE ':' || dims END"
    " || CASE WHEN period_start IS NULL AND period_end IS NULL THEN ''"
    " ELSE ':' || coalesce(CAST(period_start AS VARCHAR), '') || '..' || coalesce(CAST(period_end AS VARCHAR), '') END"
)

# Temporary macros over keys, for set-based derivation in SQL.
DIMS_MACROS = (
    # the value of dimension d in key k (NULL when absent)
    f"""CREATE OR REPLACE TEMP MACRO dims_value(k, d) AS
        nullif(list_extract(list_transform(list_filter(string_split(coalesce(k, ''), '{PAIR_SEPARATOR}'),
               p -> starts_with(p, d || '=')), p -> substr(p, length(d) + 2)), 1), '')""",
    # key k without dimension d
    f"""CREATE OR REPLACE TEMP MACRO dims_without(k, d) AS
        array_to_string(list_filter(string_split(coalesce(k, ''), '{PAIR_SEPARATOR}'),
                        p -> p <> '' AND NOT starts_with(p, d || '=')), '{PAIR_SEPARATOR}')""",
    # key k with dimension d set to v (k must not have d)
    f"""CREATE OR REPLACE TEMP MACRO dims_with(k, d, v) AS
        array_to_string(list_sort(list_append(list_filter(string_split(coalesce(k, ''), '{PAIR_SEPARATOR}'), p -> p <> ''),
                        d || '=' || v)), '{PAIR_SEPARATOR}')""",
)


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    for statement in DIMS_MACROS:
        con.execute(statement)
