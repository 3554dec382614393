"""Resources: where the raw inputs are, and the lake every asset reads and writes."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr
import duckdb

from factledger import articles, lake, paths, tables


class RawFilesResource(dg.ConfigurableResource):
    """The folder of input files (articles/, sources/). Default: $FACTLEDGER_RAW, else the checkout's raw/."""

    raw_dir: str | None = None

    @property
    def root(self) -> Path:
        return paths.raw_dir(self.raw_dir)

    def line_of(self, file: str, field: str) -> int | None:
        """The line of key `field` in raw file `file` (an article's front matter, a descriptor)."""
        return articles.field_line(self.root / file, field)


class LakeResource(dg.ConfigurableResource):
    """The DuckLake lake. Its catalog and data path come from the same configuration as the CLI's
    (factledger/lake.py): $FACTLEDGER_CATALOG / $FACTLEDGER_DATA_PATH (+ the S3 secret, read from the
    environment only, never from run config), else the SQLite catalog and Parquet folder under the
    warehouse folder ($FACTLEDGER_WAREHOUSE, else the checkout's warehouse/). The warehouse folder
    also holds the exports and reports."""

    warehouse_dir: str | None = None
    # Override the environment for this resource only; credentials stay in the environment.
    catalog: str | None = None
    data_path: str | None = None
    _lock: contextlib.ExitStack | None = PrivateAttr(default=None)
    # The run's one connection, opened at the first use and closed with the resource.
    _shared: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _sharing: bool = PrivateAttr(default=False)

    @property
    def warehouse(self) -> Path:
        return paths.warehouse_dir(self.warehouse_dir)

    @property
    def config(self) -> lake.LakeConfig:
        return lake.resolve(self.warehouse_dir, catalog=self.catalog, data_path_=self.data_path)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """On a Postgres catalog, hold the lake's writer lock while this resource lives: the whole
        run under the in-process executor (`factledger run`, UI and sensor runs), one step under
        Celery or multiprocess executors. Another writer process waits for it."""
        self._lock = contextlib.ExitStack()
        config = self.config
        if config.backend == "postgres":
            if context.log is not None:
                context.log.info(f"waiting for the lake writer lock ({config.describe()})")
            self._lock.enter_context(lake.writer_slot(config))
            if context.log is not None:
                context.log.info("holding the lake writer lock")
        self._sharing = True

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._sharing, self._shared = False, None
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()  # the shared connection first, then the writer lock

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside BEGIN ... COMMIT: what the block writes becomes one lake
        snapshot, or nothing when the block raises (rolled back). Assets write only through this."""
        with self.connect() as con:
            con.execute("BEGIN")
            try:
                yield con
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with every pipeline table present. Writes made inside one
        `BEGIN`/`COMMIT` become one lake snapshot. On a Postgres catalog the connection holds the
        lake's writer lock, so writers in other processes wait their turn.

        Inside a run, every step and check of that process shares one connection, opened at the
        first use (opening one costs ~0.4 s: extensions, ATTACH, the table check) and closed with
        the resource; a block that raises rolls back whatever transaction it left open. Outside a
        run (a resource built by hand) each call opens its own."""
        if not self._sharing:
            with lake.connect(self.config) as con:
                tables.ensure_tables(con)
                yield con
            return
        if self._shared is None:
            # Entered on the resource's exit stack: closed at teardown, before the writer lock is
            # released (which this resource already holds on a Postgres catalog).
            con = self._lock.enter_context(lake.connect(self.config, writer_lock=False))
            tables.ensure_tables(con)
            self._shared = con
        try:
            yield self._shared
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self._shared.execute("ROLLBACK")
            raise
