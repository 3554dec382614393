"""Open the DuckLake lake: a SQLite catalog plus Parquet files under the warehouse folder.

The SQLite catalog (not a DuckDB-file catalog) is what lets an analyst's process read while a run
writes. Extensions are loaded from their PyPI wheels by path: nothing is downloaded at run time.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb
import duckdb_extension_ducklake
import duckdb_extension_sqlite_scanner

LAKE = "lake"


def extension_path(package, name: str) -> Path:
    path = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise RuntimeError(
            f"DuckDB extension {name} not found at {path}: the installed duckdb ({duckdb.__version__}) "
            f"does not match the extension wheel; reinstall with `make install`."
        )
    return path


def catalog_path(warehouse: Path) -> Path:
    return Path(warehouse) / "lake" / "catalog.sqlite"


def data_path(warehouse: Path) -> Path:
    return Path(warehouse) / "lake" / "data"


def attach_sql(warehouse: Path, *, read_only: bool = False, snapshot: int | None = None) -> str:
    options = [f"DATA_PATH '{data_path(warehouse)}/'"]
    if read_only:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    return f"ATTACH 'ducklake:sqlite:{catalog_path(warehouse)}' AS {LAKE} ({', '.join(options)})"


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"LOAD '{extension_path(duckdb_extension_sqlite_scanner, 'sqlite_scanner')}'")
    con.execute(f"LOAD '{extension_path(duckdb_extension_ducklake, 'ducklake')}'")


@contextlib.contextmanager
def connect(warehouse: Path, *, read_only: bool = False, snapshot: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the lake attached as `lake` and selected as the default catalog."""
    warehouse = Path(warehouse)
    if read_only and not catalog_path(warehouse).exists():
        raise FileNotFoundError(f"no lake at {catalog_path(warehouse)}: run `factledger run` first")
    data_path(warehouse).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        load_extensions(con)
        con.execute(attach_sql(warehouse, read_only=read_only, snapshot=snapshot))
        con.execute(f"USE {LAKE}")
        yield con
    finally:
        con.close()
