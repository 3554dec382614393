"""The refresh job run by a real Celery worker, on the Postgres-backed Dagster instance
(orchestration/dagster_postgres.yaml), with Postgres as Celery's broker and result backend and the
lake on Postgres + S3. Every step runs in the worker; the run, its events and its published version
are where the other processes can see them."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from factledger import lake
from factledger.paths import PROJECT_ROOT
from tests.backends.conftest import backend_env, subprocess_env
from tests.publish.conftest import copy_raw

pytestmark = pytest.mark.slow  # starts PostgreSQL and S3 servers

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def celery_run(pg, s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("celery")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster_postgres.yaml", home / "dagster.yaml")
    pg.create_database("dagster")
    pg.create_database("celery")
    env = {
        **backend_env(pg, s3, "celery_lake"),
        "DAGSTER_HOME": str(home),
        "FACTLEDGER_DAGSTER_PG_URL": pg.url("dagster"),
        "FACTLEDGER_EXECUTOR": "celery",
        "FACTLEDGER_CELERY_BROKER": pg.url("celery", "sqla+postgresql+psycopg2"),
        "FACTLEDGER_CELERY_BACKEND": pg.url("celery", "db+postgresql+psycopg2"),
        "FACTLEDGER_RAW": str(copy_raw(root / "raw")),
        "FACTLEDGER_WAREHOUSE": str(root / "warehouse"),
        "PYTHONPATH": os.environ.get("PYTHONPATH") or str(PROJECT_ROOT),
    }
    full_env = {**subprocess_env({}), **env}
    worker_log = root / "worker.log"
    with open(worker_log, "w") as log:
        worker = subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "orchestration.celery_app", "worker", "-Q", "dagster", "-c", "2",
             "--pool", "prefork", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
             "-n", "factledger-test@%h"],
            stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=PROJECT_ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "ready." not in worker_log.read_text():
            assert worker.poll() is None, worker_log.read_text()[-3000:]
            assert time.monotonic() < deadline, "celery worker did not start: " + worker_log.read_text()[-3000:]
            time.sleep(0.5)
        started = time.monotonic()
        run = subprocess.run([str(VENV_BIN / "dagster"), "job", "execute", "-m", "orchestration.definitions",
                              "-j", "refresh"], capture_output=True, text=True, env=full_env, cwd=PROJECT_ROOT,
                             timeout=900)
        seconds = time.monotonic() - started
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
    return {"run": run, "seconds": seconds, "worker_log": worker_log.read_text(), "env": env}


def test_the_refresh_job_succeeds_through_the_celery_worker(celery_run):
    run = celery_run["run"]
    print(f"\nrefresh through the Celery worker: {celery_run['seconds']:.1f} s")
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert "Submitting celery task for step" in run.stdout + run.stderr
    log = celery_run["worker_log"]
    succeeded = re.findall(r"Task execute_plan\[[0-9a-f-]+\] succeeded", log)
    assert len(succeeded) >= 8, log[-3000:]  # one Celery task per step
    assert not re.search(r"Task execute_plan\[[0-9a-f-]+\] raised", log)
    assert "holding the lake writer lock" in log  # the worker's steps took the lake's writer lock
    assert celery_run["env"]["FACTLEDGER_S3_SECRET"] not in run.stdout + run.stderr + log


def test_the_run_and_its_events_are_in_postgres(celery_run):
    import dagster as dg

    with mock.patch.dict(os.environ, celery_run["env"]):
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            [record] = instance.get_run_records()
            assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
            assert record.dagster_run.job_name == "refresh"
            steps = instance.get_records_for_run(record.dagster_run.run_id,
                                                 of_type=dg.DagsterEventType.STEP_SUCCESS).records
            assert len(steps) >= 8
            assert "dataset_version" in {r.event_log_entry.step_key for r in steps}


def test_no_credential_in_the_dagster_or_celery_databases(celery_run, pg):
    from tests.backends import servers

    secret = celery_run["env"]["FACTLEDGER_S3_SECRET"]
    for database in ("dagster", "celery"):
        dump = subprocess.run([str(servers._pg_bin() / "pg_dump"), "-h", pg.host, "-p", str(pg.port), "-U", pg.user,
                               database], capture_output=True, text=True, timeout=120)
        assert dump.returncode == 0, dump.stderr
        assert len(dump.stdout) > 1000 and secret not in dump.stdout


def test_the_celery_run_published_version_1(celery_run):
    with mock.patch.dict(os.environ, celery_run["env"]):
        with lake.connect(read_only=True) as con:
            assert con.execute("SELECT list(version) FROM dataset_versions").fetchone()[0] == [1]
            assert con.execute("SELECT count(*) FROM published.articles").fetchone()[0] == 5
