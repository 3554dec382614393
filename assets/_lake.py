"""What every lake-writing asset shares: its pool, kinds, owner and table metadata."""
from __future__ import annotations

import dagster as dg
import duckdb

from schemas._base import LakeTable

OWNER = "team:factledger"
# One writer at a time: every asset that writes the lake takes a slot in this pool (limit 1).
LAKE_POOL = "lake"
LAKE_WRITER = {"pool": LAKE_POOL, "kinds": {"duckdb", "ducklake"}, "owners": [OWNER]}


def column_schema(model: type[LakeTable], only: tuple[str, ...] | None = None) -> dg.TableSchema:
    """`model`'s columns (or the subset `only`, in that order) as Dagster shows them."""
    columns = model.columns()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=name,
                type=str(columns[name].dtype),
                description=columns[name].description,
                constraints=dg.TableColumnConstraints(nullable=columns[name].nullable),
            )
            for name in only or columns
        ]
    )


def table_metadata(model: type[LakeTable]) -> dict:
    """Static metadata for an asset that is (or whose main table is) `model`'s table."""
    return {"dagster/column_schema": column_schema(model), "dagster/table_name": f"lake.main.{model.table_name()}"}


def row_count(con: duckdb.DuckDBPyConnection, model: type[LakeTable], where: str = "TRUE") -> int:
    return con.execute(f"SELECT count(*) FROM {model.table_name()} WHERE {where}").fetchone()[0]


def table_spec(model: type[LakeTable], group: str, description: str, deps: tuple[str, ...] = ()) -> dg.AssetSpec:
    """The spec of one table a lake-writing multi-asset produces (the multi-asset takes the pool)."""
    return dg.AssetSpec(
        model.table_name(),
        group_name=group,
        deps=deps,
        description=description,
        metadata=table_metadata(model),
        kinds=LAKE_WRITER["kinds"],
        owners=LAKE_WRITER["owners"],
    )
