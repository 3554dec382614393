"""Open the DuckLake lake: one configuration, several backends.

The lake is a catalog (where DuckLake keeps its snapshots and table metadata) plus a data path (where
the Parquet files go). Both come from one place, so the pipeline, the CLI, the sensor and the
Dagster UI all open the same lake:

- `FACTLEDGER_CATALOG`: `sqlite:<path>` (default: `<warehouse>/lake/catalog.sqlite`) or
  `postgres:<libpq conninfo>`, e.g. `postgres:dbname=lake host=db.internal user=factledger`. Put the
  password in `PGPASSWORD` or `~/.pgpass`, not in the conninfo (it would be redacted from every
  message anyway).
- `FACTLEDGER_DATA_PATH`: a local folder (default: `<warehouse>/lake/data/`) or `s3://bucket/prefix/`.
  For `s3://`, the secret comes from `FACTLEDGER_S3_KEY_ID`, `FACTLEDGER_S3_SECRET`,
  `FACTLEDGER_S3_ENDPOINT` (host:port; empty means AWS), `FACTLEDGER_S3_REGION` (default us-east-1),
  `FACTLEDGER_S3_URL_STYLE` (`path` or `vhost`, default `vhost`) and `FACTLEDGER_S3_USE_SSL`
  (default true).

When neither is set, the lake lives under the warehouse folder (the embedded default: a SQLite
catalog lets an analyst's process read while a run writes). When they are set, the warehouse folder
holds only what a run writes besides the lake (exports, reports).

Credentials never leave this module: the S3 secret is handed to DuckDB as a temporary secret, every
error message is scrubbed of it (and of any `password=` in a conninfo), and `LakeConfig.describe()`
is the only text about a configuration meant for logs and metadata.

Several writers: a SQLite catalog is for one machine and one writer at a time (the Dagster pool
"lake" serialises steps). On a Postgres catalog, writers hold a Postgres advisory lock for the lake
(`writer_slot`): every read-write connection, and the pipeline's LakeResource for the whole of an
in-process run, so two `factledger run` processes and a UI-launched run take turns run by run
(Celery workers: step by step, plus the Postgres instance's pool). Readers never wait.

Extensions are loaded from their PyPI wheels by path: nothing is downloaded at run time.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import duckdb_extension_ducklake
import duckdb_extension_sqlite_scanner

from factledger import paths, sql

LAKE = "lake"
CATALOG_ENV = "FACTLEDGER_CATALOG"
DATA_PATH_ENV = "FACTLEDGER_DATA_PATH"
EXPORTS_ENV = "FACTLEDGER_EXPORTS"
LOCK_TIMEOUT_ENV = "FACTLEDGER_LOCK_TIMEOUT"
S3_ENV = {
    "key_id": "FACTLEDGER_S3_KEY_ID",
    "secret": "FACTLEDGER_S3_SECRET",
    "endpoint": "FACTLEDGER_S3_ENDPOINT",
    "region": "FACTLEDGER_S3_REGION",
    "url_style": "FACTLEDGER_S3_URL_STYLE",
    "use_ssl": "FACTLEDGER_S3_USE_SSL",
}
DEFAULT_LOCK_TIMEOUT_SECONDS = 1800
MEMORY_LIMIT_ENV = "FACTLEDGER_MEMORY_LIMIT"
# What DuckDB may hold of a connection's working data before it spills to temporary files: a run's
# peak stays flat with the corpus instead of DuckDB's own default (80% of the machine's memory).
DEFAULT_MEMORY_LIMIT = "1GB"
SECRET_NAME = "factledger_lake_s3"


class LakeConfigError(ValueError):
    """The lake configuration is incomplete, or a backend refused it. The message names the setting
    to fix and never contains a credential."""


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


# --- configuration ----------------------------------------------------------------------------------


def _truthy(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class S3Settings:
    """The S3 secret for an `s3://` data path. `secret` is excluded from repr."""

    key_id: str = field(repr=False)
    secret: str = field(repr=False)
    endpoint: str = ""
    region: str = "us-east-1"
    url_style: str = "vhost"
    use_ssl: bool = True

    @classmethod
    def from_env(cls, env=os.environ) -> S3Settings:
        missing = [S3_ENV[k] for k in ("key_id", "secret") if not env.get(S3_ENV[k])]
        if missing:
            raise LakeConfigError(f"{DATA_PATH_ENV} is an s3:// path but {' and '.join(missing)} "
                                  f"{'is' if len(missing) == 1 else 'are'} not set")
        url_style = (env.get(S3_ENV["url_style"]) or "vhost").strip().lower()
        if url_style not in ("path", "vhost"):
            raise LakeConfigError(f"{S3_ENV['url_style']} must be 'path' or 'vhost', not {url_style!r}")
        endpoint = (env.get(S3_ENV["endpoint"]) or "").strip()
        endpoint = re.sub(r"^https?://", "", endpoint).rstrip("/")
        return cls(
            key_id=env[S3_ENV["key_id"]], secret=env[S3_ENV["secret"]], endpoint=endpoint,
            region=(env.get(S3_ENV["region"]) or "us-east-1").strip(), url_style=url_style,
            use_ssl=_truthy(env.get(S3_ENV["use_ssl"], "true")),
        )

    def secret_sql(self) -> str:
        options = {"KEY_ID": self.key_id, "SECRET": self.secret, "REGION": self.region, "URL_STYLE": self.url_style}
        if self.endpoint:
            options["ENDPOINT"] = self.endpoint
        body = ", ".join(f"{k} {_literal(v)}" for k, v in options.items())
        return f"CREATE OR REPLACE TEMPORARY SECRET {SECRET_NAME} (TYPE s3, {body}, USE_SSL {str(self.use_ssl).lower()})"

    def describe(self) -> str:
        where = self.endpoint or "AWS"
        return f"S3 at {where} ({'https' if self.use_ssl else 'http'}, {self.url_style}-style, region {self.region})"


@dataclass(frozen=True)
class LakeConfig:
    """Where the lake is: `catalog` is `sqlite:<absolute path>` or `postgres:<conninfo>`, `data_path`
    an absolute folder or an `s3://bucket/prefix/` URL, both ending in '/' for folders."""

    catalog: str
    data_path: str
    s3: S3Settings | None = field(default=None, repr=False)
    # Both under the warehouse folder by default: the folder can be moved (or copied) as a whole, so
    # the data path recorded in the catalog is overridden by the folder's current place.
    in_warehouse: bool = False

    @property
    def backend(self) -> str:
        return self.catalog.split(":", 1)[0]

    @property
    def catalog_target(self) -> str:
        return self.catalog.split(":", 1)[1]

    @property
    def is_s3(self) -> bool:
        return self.data_path.startswith("s3://")

    @property
    def is_default_local(self) -> bool:
        return self.backend == "sqlite" and not self.is_s3

    def describe(self) -> str:
        """The configuration in words, fit for logs and metadata: no password, no secret."""
        data = self.data_path + (f" on {self.s3.describe()}" if self.s3 else "")
        return f"catalog {redact_conninfo(self.catalog)}, data {data}"

    def attach_sql(self, *, read_only: bool = False, snapshot: int | None = None, alias: str = LAKE) -> str:
        options = [f"DATA_PATH {_literal(self.data_path)}"]
        if read_only:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        if self.in_warehouse:
            options.append("OVERRIDE_DATA_PATH true")
        return f"ATTACH {_literal('ducklake:' + self.catalog)} AS {alias} ({', '.join(options)})"

    def lock_key(self) -> int:
        """A Postgres advisory-lock key (signed 64-bit) naming this lake's catalog."""
        digest = hashlib.sha256(("factledger-lake\0" + normalise_conninfo(self.catalog_target)).encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


def resolve(warehouse: str | os.PathLike | None = None, *, catalog: str | None = None,
            data_path_: str | None = None, env=os.environ) -> LakeConfig:
    """The lake's configuration: arguments, else the environment, else under the warehouse folder."""
    warehouse = paths.warehouse_dir(warehouse)
    chosen_catalog = (catalog or env.get(CATALOG_ENV) or "").strip()
    chosen_data = (data_path_ or env.get(DATA_PATH_ENV) or "").strip()
    catalog_spec = _catalog(chosen_catalog) if chosen_catalog else f"sqlite:{catalog_path(warehouse)}"
    if chosen_data.startswith("s3://"):
        bucket = chosen_data[len("s3://"):].split("/", 1)[0]
        if not bucket:
            raise LakeConfigError(f"{DATA_PATH_ENV} must name a bucket: s3://<bucket>/<prefix>/")
        data = chosen_data.rstrip("/") + "/"
        s3 = S3Settings.from_env(env)
    elif "://" in chosen_data:
        raise LakeConfigError(f"{DATA_PATH_ENV} must be a local folder or s3://bucket/prefix/, "
                              f"not a {chosen_data.split('://')[0]}:// URL")
    else:
        folder = Path(chosen_data).expanduser().resolve() if chosen_data else data_path(warehouse)
        data, s3 = str(folder) + "/", None
    return LakeConfig(catalog_spec, data, s3, in_warehouse=not chosen_catalog and not chosen_data)


def _catalog(spec: str) -> str:
    spec = spec.removeprefix("ducklake:")
    kind, _, target = spec.partition(":")
    kind = kind.lower()
    if kind == "postgresql":
        kind = "postgres"
    if kind == "sqlite" and target:
        return f"sqlite:{Path(target).expanduser().resolve()}"
    if kind == "postgres" and target.strip():
        return f"postgres:{target.strip()}"
    raise LakeConfigError(f"{CATALOG_ENV} must be sqlite:<path> or postgres:<conninfo> "
                          f"(e.g. postgres:dbname=lake host=127.0.0.1), not {redact_conninfo(spec)!r}")


def normalise_conninfo(conninfo: str) -> str:
    """The conninfo's keys that name a database (not its credentials), in a fixed order."""
    pairs = dict(re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", conninfo))
    return " ".join(f"{k}={pairs[k]}" for k in ("host", "hostaddr", "port", "dbname") if k in pairs)


def redact_conninfo(text: str) -> str:
    """`password=...` in a conninfo, and the password of a URL, replaced by ***."""
    text = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text, flags=re.IGNORECASE)
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)


def scrub(message: str, config: LakeConfig | None = None) -> str:
    """An error message without any credential of `config` (and without any conninfo password)."""
    message = redact_conninfo(message)
    if config is not None and config.s3 is not None:
        for value in (config.s3.secret,):
            if value:
                message = message.replace(value, "***")
    for name in (S3_ENV["secret"], "PGPASSWORD", "AWS_SECRET_ACCESS_KEY"):
        value = os.environ.get(name)
        if value and len(value) >= 4:
            message = message.replace(value, "***")
    return message


_literal = sql.literal  # the one literal quoting (factledger/sql.py)


# --- where the rest of a run's files go -------------------------------------------------------------


def exports_location(warehouse: str | os.PathLike | None = None, env=os.environ) -> str:
    """Where exports and reports belong (ends in '/'): `FACTLEDGER_EXPORTS` (a folder or s3:// URL)
    if set; else, for a lake on S3 at s3://bucket/<prefix>/<name>/, s3://bucket/<prefix>/exports/
    (a sibling: inside the data path, DuckLake's orphan-file cleanup would delete them); else
    <warehouse>/exports/."""
    chosen = (env.get(EXPORTS_ENV) or "").strip()
    if chosen.startswith("s3://"):
        return chosen.rstrip("/") + "/"
    if chosen:
        return str(Path(chosen).expanduser().resolve()) + "/"
    data = (env.get(DATA_PATH_ENV) or "").strip().rstrip("/")
    if data.startswith("s3://"):
        bucket_and_prefix = data[len("s3://"):].split("/")
        parent = bucket_and_prefix[:-1] if len(bucket_and_prefix) > 1 else bucket_and_prefix
        return "s3://" + "/".join(parent) + "/exports/"
    return str(paths.warehouse_dir(warehouse) / "exports") + "/"


def filesystem(config: LakeConfig, url: str):
    """(pyarrow FileSystem, path) for writing plain files (JSON, a copied Parquet file) next to the lake."""
    import pyarrow.fs as pafs

    if not url.startswith("s3://"):
        return pafs.LocalFileSystem(), url
    s3 = config.s3 or S3Settings.from_env()
    fs = pafs.S3FileSystem(
        access_key=s3.key_id, secret_key=s3.secret, region=s3.region,
        endpoint_override=s3.endpoint or None, scheme="https" if s3.use_ssl else "http",
        force_virtual_addressing=s3.url_style == "vhost" and bool(s3.endpoint),
    )
    return fs, url[len("s3://"):]


# --- connecting -------------------------------------------------------------------------------------


def load_extensions(con: duckdb.DuckDBPyConnection, config: LakeConfig | None = None) -> None:
    if config is None or config.backend == "sqlite":
        con.execute(f"LOAD '{extension_path(duckdb_extension_sqlite_scanner, 'sqlite_scanner')}'")
    if config is not None and config.backend == "postgres":
        import duckdb_extension_postgres_scanner

        con.execute(f"LOAD '{extension_path(duckdb_extension_postgres_scanner, 'postgres_scanner')}'")
    if config is not None and config.is_s3:
        import duckdb_extension_httpfs

        con.execute(f"LOAD '{extension_path(duckdb_extension_httpfs, 'httpfs')}'")
    con.execute(f"LOAD '{extension_path(duckdb_extension_ducklake, 'ducklake')}'")


def attach_sql(warehouse: Path, *, read_only: bool = False, snapshot: int | None = None) -> str:
    """The ATTACH statement for the lake under `warehouse` (or the configured one). Holds no secret."""
    return resolve(warehouse).attach_sql(read_only=read_only, snapshot=snapshot)


_verified: set[tuple] = set()


def _check_s3(con: duckdb.DuckDBPyConnection, config: LakeConfig) -> None:
    """One cheap listing under the data path, once per process and configuration, so that a wrong
    secret fails here, naming the setting, and not in the middle of a write."""
    s3 = config.s3
    key = (config.data_path, s3.endpoint, s3.key_id, hashlib.sha256(s3.secret.encode()).hexdigest())
    if key in _verified:
        return
    try:
        con.execute("SELECT count(*) FROM glob(?)", [config.data_path + "factledger-credentials-probe-*"]).fetchall()
    except duckdb.Error as err:
        raise LakeConfigError(_s3_error(str(err), config)) from None
    _verified.add(key)


def _s3_error(message: str, config: LakeConfig) -> str:
    text = scrub(message, config)
    where = f"{config.data_path} ({config.s3.describe()})"
    if re.search(r"SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied|\b403\b|Forbidden|credential", text, re.I):
        reason = "S3 refused the credentials"
        fix = f"check {S3_ENV['key_id']} and {S3_ENV['secret']}"
    elif re.search(r"NoSuchBucket|\b404\b", text, re.I):
        reason = "the bucket does not exist"
        fix = f"check the bucket in {DATA_PATH_ENV}"
    elif re.search(r"Could not establish connection|Connection refused|Failed to connect|Could not resolve|timed out|Timeout",
                   text, re.I):
        reason = "the S3 endpoint cannot be reached"
        fix = f"check {S3_ENV['endpoint']}, {S3_ENV['use_ssl']} and {S3_ENV['url_style']}"
    else:
        reason = "S3 refused the request"
        fix = f"check {DATA_PATH_ENV} and the {', '.join(S3_ENV.values())} settings"
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"lake data path {where}: {reason}; {fix}. ({first[:300]})"


def _catalog_error(message: str, config: LakeConfig, read_only: bool) -> Exception:
    text = scrub(message, config)
    first = text.strip().splitlines()[0] if text.strip() else ""
    where = redact_conninfo(config.catalog)
    if read_only and re.search(r"read.only|does not exist|not initialized|no such table|uninitiali", text, re.I):
        return FileNotFoundError(f"no lake in catalog {where}: run `factledger run` first ({first[:200]})")
    if config.backend == "postgres":
        return LakeConfigError(f"lake catalog {where} ({CATALOG_ENV}): cannot attach: {first[:300]}")
    return LakeConfigError(f"lake catalog {where}: cannot attach: {first[:300]}")


def _open(config: LakeConfig, *, read_only: bool, snapshot: int | None) -> duckdb.DuckDBPyConnection:
    if config.backend == "sqlite":
        if read_only and not Path(config.catalog_target).exists():
            raise FileNotFoundError(f"no lake at {config.catalog_target}: run `factledger run` first")
        Path(config.catalog_target).parent.mkdir(parents=True, exist_ok=True)
    if not config.is_s3:
        Path(config.data_path).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 **engine_settings()})
    try:
        load_extensions(con, config)
        if config.s3 is not None:
            try:
                con.execute(config.s3.secret_sql())
            except duckdb.Error as err:
                raise LakeConfigError(_s3_error(str(err), config)) from None
            _check_s3(con, config)
        try:
            con.execute(config.attach_sql(read_only=read_only, snapshot=snapshot))
        except duckdb.Error as err:
            if config.is_s3 and re.search(r"HTTP|S3|403|credential", str(err)):
                raise LakeConfigError(_s3_error(str(err), config)) from None
            raise _catalog_error(str(err), config, read_only) from None
        con.execute(f"USE {LAKE}")
        return con
    except BaseException:
        con.close()
        raise


def memory_limit(env=os.environ) -> str:
    """$FACTLEDGER_MEMORY_LIMIT (a DuckDB size such as `1GB`, `512MiB`, `80%`), else DEFAULT_MEMORY_LIMIT."""
    return (env.get(MEMORY_LIMIT_ENV) or "").strip() or DEFAULT_MEMORY_LIMIT


@functools.lru_cache(maxsize=8)
def _understood(limit: str) -> str:
    try:
        duckdb.connect(config={"memory_limit": limit}).close()
    except duckdb.Error:
        raise LakeConfigError(f"{MEMORY_LIMIT_ENV}={limit!r} is not a memory size DuckDB understands "
                              "(examples: 1GB, 512MiB, 75%)") from None
    return limit


_spill_root: list[str] = []  # this process's folder for DuckDB's temporary files, made on first use
_spill_count = itertools.count()


def engine_settings(env=os.environ) -> dict[str, str]:
    """DuckDB settings of every lake connection: the memory limit, and a temporary folder of its own
    (DuckDB makes it when it first spills and deletes it when the connection closes) under one
    folder per process in the system's temporary directory, removed when the process exits."""
    limit = _understood(memory_limit(env))
    if not _spill_root:
        _spill_root.append(tempfile.mkdtemp(prefix="factledger-duckdb-"))
        atexit.register(shutil.rmtree, _spill_root[0], True)
    return {"memory_limit": limit, "temp_directory": os.path.join(_spill_root[0], str(next(_spill_count)))}


@contextlib.contextmanager
def connect(target: str | os.PathLike | LakeConfig | None = None, *, read_only: bool = False,
            snapshot: int | None = None, writer_lock: bool | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the lake attached as `lake` and selected as the default catalog.

    `target`: a LakeConfig, or a warehouse folder (None: the configured one) whose configuration
    `resolve()` completes from the environment. A read-write connection to a Postgres catalog holds
    the lake's writer lock (`writer_lock=False` to opt out, e.g. to measure DuckLake's own conflict
    handling)."""
    config = target if isinstance(target, LakeConfig) else resolve(target)
    if writer_lock is None:
        writer_lock = not read_only and config.backend == "postgres"
    with (writer_slot(config) if writer_lock else contextlib.nullcontext()):
        con = _open(config, read_only=read_only, snapshot=snapshot)
        try:
            yield con
        except duckdb.Error as err:
            cleaned = scrub(str(err), config)
            if cleaned != str(err):
                raise type(err)(cleaned) from None
            raise
        finally:
            con.close()


# --- writers ----------------------------------------------------------------------------------------


class _Held:
    """Per process and lock key: the Postgres session holding the advisory lock, and how many users
    in this process (nested connections, a run's resource, threads) share it. The lock serialises
    processes; writers inside one process share it."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.users = 0
        self.session = None


_held: dict[int, _Held] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def writer_slot(config: LakeConfig, timeout: float | None = None) -> Iterator[None]:
    """Hold the lake's writer lock: a Postgres session-level advisory lock on the catalog database
    (released by Postgres if this process dies). Shared within a process; waits (polling) up to
    `timeout` seconds ($FACTLEDGER_LOCK_TIMEOUT, default 1800) for a writer in another process."""
    if config.backend != "postgres":
        yield
        return
    timeout = float(os.environ.get(LOCK_TIMEOUT_ENV) or DEFAULT_LOCK_TIMEOUT_SECONDS) if timeout is None else timeout
    key = config.lock_key()
    with _held_guard:
        held = _held.setdefault(key, _Held())
    with held.guard:  # one thread of this process acquires; the others wait here, then share it
        if held.users == 0:
            held.session = _acquire(config, key, timeout)
        held.users += 1
    try:
        yield
    finally:
        with held.guard:
            held.users -= 1
            if held.users == 0:
                session, held.session = held.session, None
                try:
                    with session.cursor() as cur:
                        cur.execute("SELECT pg_advisory_unlock(%s)", (key,))
                except Exception:  # noqa: BLE001 - closing the session releases it anyway
                    pass
                finally:
                    session.close()


def _acquire(config: LakeConfig, key: int, timeout: float):
    import psycopg2

    try:
        session = psycopg2.connect(config.catalog_target, application_name="factledger-writer-lock")
    except psycopg2.Error as err:
        raise LakeConfigError(f"lake catalog {redact_conninfo(config.catalog)} ({CATALOG_ENV}): "
                              f"cannot connect: {scrub(str(err), config).strip().splitlines()[0]}") from None
    session.autocommit = True
    deadline = time.monotonic() + timeout
    wait = 0.05
    with session.cursor() as cur:
        while True:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            if cur.fetchone()[0]:
                return session
            if time.monotonic() > deadline:
                session.close()
                raise TimeoutError(f"another writer held the lake {redact_conninfo(config.catalog)} for more "
                                   f"than {timeout:.0f} s ({LOCK_TIMEOUT_ENV})")
            time.sleep(wait)
            wait = min(wait * 1.5, 1.0)


def is_conflict(err: BaseException) -> bool:
    """A DuckLake commit conflict (another writer committed first): safe to retry the transaction."""
    return isinstance(err, duckdb.Error) and bool(re.search(
        r"conflict|database is locked|could not serialize|Exceeded the maximum retry count|"
        r"duplicate key value violates unique constraint", str(err), re.I))


def transaction(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], object], *,
                attempts: int = 20, wait: float = 0.05, on_conflict: Callable[[BaseException], None] | None = None):
    """Run `work(con)` inside BEGIN/COMMIT; on a commit conflict roll back and run it again (up to
    `attempts` times, with a growing randomised wait). Returns what `work` returned."""
    import random

    for attempt in range(1, attempts + 1):
        con.execute("BEGIN")
        try:
            result = work(con)
            con.execute("COMMIT")
            return result
        except BaseException as err:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            if not is_conflict(err) or attempt == attempts:
                raise
            if on_conflict is not None:
                on_conflict(err)
            time.sleep(wait * (1.5 ** attempt) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")
