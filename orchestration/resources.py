"""Resources: where the raw inputs are, and the lake every asset reads and writes."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from factledger import lake, paths, tables


class RawFilesResource(dg.ConfigurableResource):
    """The folder of input files (articles/, sources/). Default: $FACTLEDGER_RAW, else the checkout's raw/."""

    raw_dir: str | None = None

    @property
    def root(self) -> Path:
        return paths.raw_dir(self.raw_dir)


class LakeResource(dg.ConfigurableResource):
    """The DuckLake lake (SQLite catalog, Parquet data) under the warehouse folder.
    Default: $FACTLEDGER_WAREHOUSE, else the checkout's warehouse/."""

    warehouse_dir: str | None = None

    @property
    def warehouse(self) -> Path:
        return paths.warehouse_dir(self.warehouse_dir)

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with every pipeline table present. Writes made inside one
        `BEGIN`/`COMMIT` become one lake snapshot."""
        with lake.connect(self.warehouse) as con:
            tables.ensure_tables(con)
            yield con
