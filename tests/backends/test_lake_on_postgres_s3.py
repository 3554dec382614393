"""The pipeline end to end on a Postgres catalog with its Parquet files in S3 (SeaweedFS), checked
with the assertions used on SQLite: versions, time travel, diff, readers during a write. The write
here is two `factledger run` processes at once: the lake's writer lock makes them take turns, so
exactly one publishes the change and the other finds nothing to publish."""
from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from factledger import cli, lake
from tests.backends.conftest import backend_env, servers, subprocess_env
from tests.publish.conftest import CHANGED_ARTICLE, change_article, copy_raw

pytestmark = pytest.mark.slow  # starts PostgreSQL and S3 servers

FACTLEDGER = str(Path(sys.executable).parent / "factledger")
READ = "SELECT count(*) AS n, count(DISTINCT sha256) AS files FROM articles"
READ_PAUSE = 1.0  # seconds between two reads while the writers run


def factledger(env: dict, *argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, {"FACTLEDGER_RAW": "", "FACTLEDGER_WAREHOUSE": "", **env}), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        os.environ.pop("DAGSTER_HOME", None)
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def s3_keys(s3: servers.S3, prefix: str) -> list[str]:
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(access_key=s3.key_id, secret_key=s3.secret, endpoint_override=s3.endpoint,
                           scheme="http", region=s3.region)
    try:
        infos = fs.get_file_info(pafs.FileSelector(f"{s3.bucket}/{prefix}", recursive=True))
    except FileNotFoundError:
        return []
    return [i.path for i in infos if i.type == pafs.FileType.File]


@pytest.fixture(scope="module")
def history(pg, s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("pg_s3")
    raw, warehouse = copy_raw(root / "raw"), root / "warehouse"
    env = backend_env(pg, s3, "e2e")
    run = ("run", "--raw", raw, "--warehouse", warehouse)
    h = {"raw": raw, "warehouse": warehouse, "env": env}
    h["first"] = factledger(env, *run)
    h["v1_before"] = factledger(env, "sql", "--csv", "--version", "1", "SELECT article_id, title FROM articles ORDER BY 1")
    h["second"] = factledger(env, *run)

    change_article(raw)
    sub_env = subprocess_env(env)
    writers = [subprocess.Popen([FACTLEDGER, *map(str, run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=sub_env) for _ in range(2)]
    reads = []
    deadline = time.monotonic() + 600
    while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
        version = ["--version", "1"] if len(reads) % 2 else []
        done = subprocess.run([FACTLEDGER, "sql", "--csv", *version, READ], capture_output=True, text=True,
                              env=sub_env, timeout=120)
        reads.append({"rc": done.returncode, "out": done.stdout, "err": done.stderr, "version": version,
                      "during": any(w.poll() is None for w in writers)})
        time.sleep(READ_PAUSE)  # each read is a new process: back to back, they take a core from the writers
    h["writers"] = [(w.wait(timeout=600), *w.communicate()) for w in writers]
    h["reads"] = reads
    h["versions"] = factledger(env, "versions", "--csv")
    h["diff"] = factledger(env, "diff", "1", "2", "--csv")
    h["v1_after"] = factledger(env, "sql", "--csv", "--version", "1", "SELECT article_id, title FROM articles ORDER BY 1")
    h["v2"] = factledger(env, "sql", "--csv", "--version", "2", "SELECT article_id, title FROM articles ORDER BY 1")
    return h


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_first_run_publishes_version_1_on_postgres_and_s3(history, s3):
    rc, out, err = history["first"]
    assert rc == 0, out + err
    assert "published version 1" in out
    assert "catalog postgres:dbname=e2e" in err  # the run says where the lake is
    assert not (history["warehouse"] / "lake").exists()  # nothing of the lake on local disk
    keys = s3_keys(s3, "e2e/lake")
    assert any(k.endswith(".parquet") for k in keys), keys
    # The exports and the report follow the lake to object storage (a sibling of its data path).
    exported = s3_keys(s3, "e2e/exports")
    assert any(k.endswith("/v1/claims.csv.parts/part-00000.csv") for k in exported) and any(k.endswith("/v1/report/index.html") for k in exported), exported


def test_second_run_on_same_inputs_publishes_nothing(history):
    rc, out, _ = history["second"]
    assert rc == 0 and "no change: version 1 stays current" in out


def test_two_concurrent_runs_publish_the_change_once(history):
    outcomes = history["writers"]
    assert [rc for rc, _, _ in outcomes] == [0, 0], [o[2][-2000:] for o in outcomes]
    summaries = sorted("published version 2" if "published version 2" in out else
                       "no change" if "no change: version 2 stays current" in out else out for _, out, _ in outcomes)
    assert summaries == ["no change", "published version 2"]
    rc, out, _ = history["versions"]
    assert rc == 0
    assert [r["version"] for r in rows(out)] == ["1", "2"]
    assert len({r["snapshot"] for r in rows(out)}) == 2


def test_diff_names_exactly_the_changed_article(history):
    rc, out, _ = history["diff"]
    assert rc == 0
    changed = rows(out)
    assert {r["table"] for r in changed} >= {"articles"}
    assert {r["article_id"] for r in changed if r["article_id"]} == {CHANGED_ARTICLE}
    article = [r for r in changed if r["table"] == "articles"]
    assert [(r["change"], r["key"]) for r in article] == [("changed", CHANGED_ARTICLE)]
    assert "title" in article[0]["columns"]


def test_time_travel_version_1_answers_as_before(history):
    assert history["v1_before"][0] == history["v1_after"][0] == 0
    assert history["v1_after"][1] == history["v1_before"][1]
    titles = {r["article_id"]: r["title"] for r in rows(history["v2"][1])}
    assert titles[CHANGED_ARTICLE].startswith("(updated) ")


def test_readers_in_other_processes_answer_during_the_writes(history):
    reads = history["reads"]
    during = [r for r in reads if r["during"]]
    assert during, "no read overlapped the writers"
    assert all(r["rc"] == 0 for r in reads), [r["err"] for r in reads if r["rc"]][:3]
    for r in reads:
        [row] = rows(r["out"])
        assert row["n"] == "5"


def test_credentials_appear_in_no_log_export_or_catalog(history, pg, s3):
    secret = history["env"]["FACTLEDGER_S3_SECRET"]
    texts = [t for key in ("first", "second", "versions", "diff") for t in history[key][1:]]
    texts += [t for outcome in history["writers"] for t in outcome[1:]]
    texts += [r["out"] + r["err"] for r in history["reads"]]
    assert all(secret not in t for t in texts)
    for path in history["warehouse"].rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    bin_dir = servers._pg_bin()
    dump = subprocess.run([str(bin_dir / "pg_dump"), "-h", pg.host, "-p", str(pg.port), "-U", pg.user, "e2e"],
                          capture_output=True, text=True, timeout=120)
    assert dump.returncode == 0, dump.stderr
    assert "ducklake_snapshot" in dump.stdout and secret not in dump.stdout


def test_a_wrong_s3_secret_names_the_setting_not_the_secret(history, tmp_path):
    wrong = "not-the-right-secret-0123456789"
    env = {**history["env"], "FACTLEDGER_S3_SECRET": wrong}
    lake._verified.clear()
    rc, out, err = factledger(env, "versions")
    assert rc == 2
    assert "FACTLEDGER_S3_SECRET" in err and "S3 refused the credentials" in err
    assert wrong not in err + out and history["env"]["FACTLEDGER_S3_SECRET"] not in err + out
    with mock.patch.dict(os.environ, env), pytest.raises(lake.LakeConfigError) as raised:
        with lake.connect(tmp_path):
            pass
    assert "FACTLEDGER_S3_KEY_ID and FACTLEDGER_S3_SECRET" in str(raised.value) and wrong not in str(raised.value)
    done = subprocess.run([FACTLEDGER, "run", "--raw", str(history["raw"]), "--warehouse", str(tmp_path / "w")],
                          capture_output=True, text=True, env=subprocess_env(env), timeout=300)
    assert done.returncode != 0
    assert "FACTLEDGER_S3_SECRET" in done.stdout + done.stderr  # the summary names the failing setting
    assert wrong not in done.stdout + done.stderr
    # A missing setting is named too.
    env.pop("FACTLEDGER_S3_SECRET")
    with mock.patch.dict(os.environ, {k: v for k, v in env.items()}), pytest.raises(lake.LakeConfigError, match="FACTLEDGER_S3_SECRET is not set"):
        os.environ.pop("FACTLEDGER_S3_SECRET", None)
        lake.resolve(tmp_path)
