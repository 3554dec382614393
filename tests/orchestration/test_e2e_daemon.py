"""End to end: the real Dagster webserver and daemon (`dagster dev`) on loopback, a temporary raw/
and warehouse; a new article dropped into raw/articles/ reaches the published dataset through the
sensor, the run queue and the job, with nothing but files and the daemon."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from factledger.paths import PROJECT_ROOT

VENV_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 120
PUBLISH_TIMEOUT = 240
NEW_ARTICLE_ID = "900_e2e_dropped"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 1.0, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"dagster dev exited ({proc.returncode}) while waiting for {what}")
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def webserver_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def published_article_ids(warehouse: Path) -> set[str]:
    """Article ids in the current published dataset version, via the CLI an analyst would use
    (its `main`, in this process: polled every second, a new process each time would take a
    core from the daemon's runs on a 2-core machine)."""
    from factledger import cli

    if not (warehouse / "lake").exists():
        return set()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["sql", "--warehouse", str(warehouse), "--csv", "SELECT article_id FROM articles"])
    if code != 0:  # no lake or no published version yet
        return set()
    return set(out.getvalue().split()[1:])


def published_article_ids_in_a_new_process(warehouse: Path) -> set[str]:
    """The same, through the installed `factledger` command."""
    done = subprocess.run(
        [VENV_BIN / "factledger", "sql", "--warehouse", str(warehouse), "--csv", "SELECT article_id FROM articles"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split()[1:])


def runs_finished(home: Path) -> bool:
    """Whether every run in the instance has ended (read while the daemon runs)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
    return bool(runs) and all(r.is_finished for r in runs)


def stop(proc: subprocess.Popen, log) -> None:
    """SIGINT to the whole process group (as Ctrl-C would), then SIGTERM, then SIGKILL."""
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
    log.close()


@pytest.mark.slow
def test_a_dropped_article_is_published_by_the_daemon(tmp_path: Path) -> None:
    raw, warehouse, home = tmp_path / "raw", tmp_path / "warehouse", tmp_path / "dagster_home"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FACTLEDGER_RAW": str(raw),
        "FACTLEDGER_WAREHOUSE": str(warehouse),
        "FACTLEDGER_SENSOR_INTERVAL": "2",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log_path = tmp_path / "dagster_dev.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [VENV_BIN / "dagster", "dev", "-h", "127.0.0.1", "-p", str(port), "-m", "orchestration.definitions"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    timings = {}
    try:
        t0 = time.monotonic()
        wait_until(lambda: webserver_up(port), STARTUP_TIMEOUT, "the webserver on loopback", proc=proc)
        timings["webserver up"] = time.monotonic() - t0
        # The sensor is RUNNING by default: its first tick loads the copied raw/ and publishes.
        initial = wait_until(lambda: published_article_ids(warehouse), PUBLISH_TIMEOUT, "the initial publish", proc=proc)
        timings["initial publish"] = time.monotonic() - t0
        assert NEW_ARTICLE_ID not in initial

        template = sorted((raw / "articles").glob("*.md"))[0].read_text()
        body = template + "\nUpdate: this copy was dropped by the end-to-end test, so its text is new.\n"
        staging = raw / "articles" / f".{NEW_ARTICLE_ID}.md.part"  # ignored by the sensor until renamed
        staging.write_text(body)
        t1 = time.monotonic()
        staging.rename(raw / "articles" / f"{NEW_ARTICLE_ID}.md")
        after = wait_until(lambda: NEW_ARTICLE_ID in (ids := published_article_ids(warehouse)) and ids,
                           PUBLISH_TIMEOUT, "the new article in the published dataset", proc=proc)
        timings["drop to published"] = time.monotonic() - t1
        assert after == initial | {NEW_ARTICLE_ID}
        assert published_article_ids_in_a_new_process(warehouse) == after
        # Publishing commits before the run's last steps (exports, the report): wait for them too.
        wait_until(lambda: runs_finished(home), PUBLISH_TIMEOUT, "the sensor's runs to finish", proc=proc)
    except BaseException:
        print(log_path.read_text()[-6000:])
        raise
    finally:
        t2 = time.monotonic()
        stop(proc, log)
        timings["shutdown"] = time.monotonic() - t2
        print("e2e timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    assert proc.returncode is not None

    # The instance in DAGSTER_HOME, read after shutdown: one successful sensor run per change.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = list(reversed(instance.get_runs()))
    assert [r.tags.get("factledger/changes") for r in runs][-1] == "1 added, 0 changed, 0 removed"
    assert all(r.tags.get("dagster/sensor_name") == "raw_files_sensor" for r in runs)
    assert runs[-1].status == dg.DagsterRunStatus.SUCCESS
    assert len({r.tags["dagster/run_key"] for r in runs}) == len(runs)
