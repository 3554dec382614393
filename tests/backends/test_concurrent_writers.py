"""Two processes committing to one lake at once (Postgres catalog, S3 data): every commit lands.

Without the writer lock and with DuckLake's own retries switched off, conflicts happen and are
retried by `lake.transaction`; with the lock (what the pipeline uses) writers take turns. Either
way: commits attempted = committed = rows in the table, none lost, one snapshot per commit.
The tally is printed (pytest -s) and summarised in docs/deployment.md.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from factledger import lake
from factledger.paths import PROJECT_ROOT
from tests.backends.conftest import subprocess_env

pytestmark = pytest.mark.slow  # starts PostgreSQL and S3 servers

COMMITS_PER_WRITER = 50
WRITERS = 2


def concurrent_commits(env: dict, mode: str, label: str) -> dict:
    with lake.connect() as con:
        con.execute("CREATE TABLE IF NOT EXISTS commits (writer VARCHAR, n INTEGER)")
        [(before,)] = con.execute("SELECT count(*) FROM lake.snapshots()").fetchall()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.backends.writer_worker", f"{label}{w}",
                               str(COMMITS_PER_WRITER), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=subprocess_env(env), cwd=PROJECT_ROOT) for w in range(WRITERS)]
    tallies = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        tallies.append(json.loads(out.strip().splitlines()[-1]))
    with lake.connect(read_only=True) as con:
        present = con.execute("SELECT writer, count(*), count(DISTINCT n) FROM commits WHERE writer LIKE ? GROUP BY ALL",
                              [f"{label}%"]).fetchall()
        [(after,)] = con.execute("SELECT count(*) FROM lake.snapshots()").fetchall()
    total = {k: sum(t[k] for t in tallies) for k in ("attempted", "committed", "conflicts_retried", "failed")}
    total["rows_present"] = sum(n for _, n, _ in present)
    total["lost"] = total["attempted"] - total["rows_present"]
    total["new_snapshots"] = after - before
    total["seconds"] = max(t["seconds"] for t in tallies)
    print(f"\nconcurrent writers ({mode}): {json.dumps(total)}")
    assert all(n == d == COMMITS_PER_WRITER for _, n, d in present), present
    return total


@pytest.mark.parametrize("mode", ["retry", "lock"])
def test_two_writers_lose_no_commit(backend, mode):
    total = concurrent_commits(backend, mode, mode)
    assert total["attempted"] == total["committed"] == WRITERS * COMMITS_PER_WRITER
    assert total["lost"] == 0 and total["failed"] == 0
    assert total["new_snapshots"] == total["committed"]
    if mode == "lock":
        assert total["conflicts_retried"] == 0
