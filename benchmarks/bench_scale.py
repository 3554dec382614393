#!/usr/bin/env python3
"""Benchmark: `factledger run` end to end on synthetic corpora, and the runs that follow a change.

    .venv/bin/python benchmarks/bench_scale.py                      # 10,000 articles
    .venv/bin/python benchmarks/bench_scale.py --articles 100000

For each corpus (built from raw/ by benchmarks/bench_claims.py's generator, seed fixed) it prints,
side by side in one run, wall seconds, CPU seconds and peak RSS of:
  full run, 1 process     the baseline: FACTLEDGER_WORKERS=1 (claims extracted in the run's process)
  full run                the default: claims extracted across the machine's cores
  no-change rerun         nothing changed since the full run
  add one article         one new article file
  change one article      one article's text edited
  delete one article      one article file removed
Every run is a separate `factledger run` process on its own warehouse copy where it matters.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_backends import write_corpus  # noqa: E402  (the same corpus as the backends benchmark)

FACTLEDGER = ROOT / ".venv" / "bin" / "factledger"


def run(raw: Path, warehouse: Path, workers: int | None = None) -> dict:
    """One `factledger run`: wall and CPU seconds, peak RSS, exit code."""
    env = {**os.environ, "FACTLEDGER_RAW": "", "FACTLEDGER_WAREHOUSE": ""}
    if workers:
        env["FACTLEDGER_WORKERS"] = str(workers)
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([str(FACTLEDGER), "run", "--raw", str(raw), "--warehouse", str(warehouse)],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        tail = out.read()[-600:]
    return {"seconds": round(time.monotonic() - started, 1), "cpu": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "rc": os.waitstatus_to_exitcode(status), "tail": tail}


def scenarios(n: int, seed: int, work: Path) -> list[tuple[str, dict]]:
    raw = work / "raw"
    print(f"building {n:,} articles ...", flush=True)
    write_corpus(raw, n, seed)
    results = [("full run, 1 process (baseline)", run(raw, work / "wh1", workers=1))]
    print(f"  {results[-1][0]}: {results[-1][1]['seconds']} s", flush=True)
    warehouse = work / "wh"
    results.append(("full run", run(raw, warehouse)))
    print(f"  full run: {results[-1][1]['seconds']} s", flush=True)
    results.append(("no-change rerun", run(raw, warehouse)))
    articles = sorted((raw / "articles").iterdir())
    shutil.copy(articles[0], raw / "articles" / "zz_added.md")
    results.append(("add one article", run(raw, warehouse)))
    articles[1].write_text(articles[1].read_text(encoding="utf-8") + "\nOfficials released 1,234 people convicted of burglary.\n",
                           encoding="utf-8")
    results.append(("change one article", run(raw, warehouse)))
    articles[2].unlink()
    results.append(("delete one article", run(raw, warehouse)))
    return results


def table(n: int, results: list[tuple[str, dict]]) -> str:
    full = dict(results)["full run"]["seconds"] or 1
    lines = [f"### {n:,} articles", "", "| run | wall s | CPU s | peak RSS MB | % of full run | exit |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in results:
        lines.append(f"| {name} | {r['seconds']} | {r['cpu']} | {r['peak_rss_mb']} | {100 * r['seconds'] / full:.0f}% | {r['rc']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, action="append", help="corpus size (repeatable; default 10,000)")
    ap.add_argument("--seed", type=int, default=20240925)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    report = {}
    for n in args.articles or [10_000]:
        with tempfile.TemporaryDirectory(prefix="factledger-scale-") as tmp:
            results = scenarios(n, args.seed, Path(tmp))
        for name, r in results:
            if r["rc"] != 0:
                print(f"{name} exited {r['rc']}:\n{r['tail']}", file=sys.stderr)
        print(table(n, results), flush=True)
        report[n] = {name: {k: v for k, v in r.items() if k != "tail"} for name, r in results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
