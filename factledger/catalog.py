"""The published tables: which tables analysts get in every version (`lake.published.<name>`),
which rows of `lake.main` each holds, how a row is identified across versions, and which of them
this run can build."""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

import schemas
from factledger import sql
from schemas.articles import QUARANTINED_IDS_SQL
from schemas._base import LakeTable

PUBLISHED_SCHEMA = "published"

quote = sql.identifier  # the one identifier quoting (factledger/sql.py)


@dataclass(frozen=True)
class PublishedTable:
    """A table analysts get in every version: `lake.published.<name>`, copied from `lake.main.<name>`
    (rows matching `where`). Its model's key, less the `volatile` columns, identifies a row across
    versions (diff); a model without a key is keyed by the whole row. `volatile` columns are left
    out of hashes and diffs, as are all timestamps (they say when the pipeline ran, not what the
    data says)."""

    name: str
    where: str = "TRUE"
    volatile: tuple[str, ...] = ()


# Present and not quarantined (an article whose dates break an article-level rule: see schemas/articles.py).
PUBLISHABLE_ARTICLE = f"retired_at IS NULL AND article_id NOT IN ({QUARANTINED_IDS_SQL})"
PRESENT_ARTICLE = f"article_id IN (SELECT article_id FROM lake.main.articles WHERE {PUBLISHABLE_ARTICLE})"

# THE list of published tables. Tables whose model is not registered in schemas.LAKE_TABLES, or
# that are absent from the lake, are skipped (with a log line) and so absent from that version.
PUBLISHED_TABLES: tuple[PublishedTable, ...] = (
    PublishedTable("articles", where=PUBLISHABLE_ARTICLE),
    PublishedTable("sources"),
    PublishedTable("figures"),
    PublishedTable("figure_dimensions"),
    PublishedTable("figure_derivations"),
    PublishedTable("claims", where=PRESENT_ARTICLE),
    PublishedTable("date_findings", where=PRESENT_ARTICLE),
    PublishedTable("name_findings", where=PRESENT_ARTICLE),
    PublishedTable("check_results", volatile=("version", "run_id")),
)

# Columns that name what a changed row is about; the diff reports them for every table that has them.
CONCERNS = ("article_id", "figure_id")


def published_table(name: str) -> PublishedTable:
    for table in PUBLISHED_TABLES:
        if table.name == name:
            return table
    raise KeyError(name)


def model_for(name: str) -> type[LakeTable] | None:
    return next((m for m in schemas.LAKE_TABLES if m.table_name() == name), None)


def compared_columns(model: type[LakeTable], table: PublishedTable) -> list[str]:
    """The columns that say what a row is: not timestamps, not run bookkeeping."""
    return [
        name for name, col in model.columns().items()
        if name not in table.volatile and not col.dtype.type.is_timestamp()
    ]


def row_key(model: type[LakeTable], table: PublishedTable) -> tuple[str, ...]:
    """The model's key within one version, else every compared column (the whole row)."""
    return tuple(k for k in model.key() if k not in table.volatile) or tuple(compared_columns(model, table))


def lake_tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """The tables of the lake's `schema` (as this connection's transaction sees them). Read from
    the columns' listing: `duckdb_tables()` and `information_schema.tables` work out each table's
    size, which took 2.6 s on a connection's first call at 100,000 articles."""
    return {r[0] for r in con.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_catalog = 'lake' AND table_schema = ?", [schema]
    ).fetchall()}


@dataclass
class Plan:
    """The published tables this run can build, and the ones it skips (with why)."""

    tables: list[tuple[PublishedTable, type[LakeTable]]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def plan(con: duckdb.DuckDBPyConnection) -> Plan:
    present = lake_tables(con, "main")
    result = Plan()
    for table in PUBLISHED_TABLES:
        model = model_for(table.name)
        if model is None:
            result.skipped[table.name] = "no schema registered in schemas.LAKE_TABLES"
        elif table.name not in present:
            result.skipped[table.name] = "not in the lake yet"
        else:
            result.tables.append((table, model))
    return result


def source_sql(table: PublishedTable, model: type[LakeTable]) -> str:
    """The rows of `lake.main` that `lake.published.<table>` holds (not for check_results, whose
    rows come from the run)."""
    return f"(SELECT {sql.identifiers(model.column_names())} FROM lake.main.{quote(table.name)} WHERE {table.where})"
