#!/usr/bin/env python3
"""Benchmark: `factledger run` end to end on synthetic corpora, and the runs that follow a change.

    .venv/bin/python benchmarks/bench_scale.py                      # 10,000 articles
    .venv/bin/python benchmarks/bench_scale.py --articles 100000 --no-single
    .venv/bin/python benchmarks/bench_scale.py --baseline HEAD~3    # that commit's code side by side
    .venv/bin/python benchmarks/bench_scale.py --articles 100000 --keep-corpus /tmp/c100k   # keep the corpus ...
    .venv/bin/python benchmarks/bench_scale.py --articles 100000 --corpus /tmp/c100k        # ... and skip building it next time

For each corpus (built from raw/ by benchmarks/bench_claims.py's generator, seed fixed) it prints,
side by side in one run, wall seconds, CPU seconds and peak RSS of:
  full run, 1 process     FACTLEDGER_WORKERS=1 (claims extracted in the run's process; --no-single skips it)
  full run                the default: claims extracted across the machine's cores
  no-change rerun         nothing changed since the full run
  add one article         one new article file
  change one article      one article's text edited
  delete one article      one article file removed
Every run is a separate `factledger run` process on its own warehouse copy where it matters.

`--baseline REV` runs the same scenarios, on the same corpus, with the code of git revision REV
(checked out in a temporary `git worktree`, run with this checkout's .venv and PYTHONPATH pointing
at the worktree), and prints both tables' columns side by side. Without it the table is printed
beside the figures docs/performance.md recorded before publishing followed the change
(BASELINE_10K, 10,000 articles only).
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

# This checkout's interpreter (a worktree has no .venv of its own: it borrows the one running this).
PYTHON = ROOT / ".venv" / "bin" / "python" if (ROOT / ".venv" / "bin" / "python").exists() else Path(sys.executable)

# docs/performance.md, 10,000 articles, code at 30aaab9 (before publishing followed the change):
# wall s, CPU s, peak RSS MB.
BASELINE_10K = {
    "full run, 1 process": (122.2, 128.2, 1719),
    "full run": (97.6, 148.3, 1728),
    "no-change rerun": (17.4, 21.5, 815),
    "add one article": (50.3, 57.1, 1773),
    "change one article": (52.7, 59.6, 2044),
    "delete one article": (52.9, 59.8, 2050),
}


def run(raw: Path, warehouse: Path, workers: int | None = None, code: Path = ROOT) -> dict:
    """One `factledger run` with the code in `code`: wall and CPU seconds, peak RSS, exit code."""
    env = {**os.environ, "FACTLEDGER_RAW": "", "FACTLEDGER_WAREHOUSE": ""}
    env["PYTHONPATH"] = str(code)  # this code, ahead of whatever checkout the interpreter installs
    if workers:
        env["FACTLEDGER_WORKERS"] = str(workers)
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([str(PYTHON), "-m", "factledger.cli", "run", "--raw", str(raw), "--warehouse", str(warehouse)],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=code, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        tail = out.read()[-600:]
    return {"seconds": round(time.monotonic() - started, 1), "cpu": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "rc": os.waitstatus_to_exitcode(status), "tail": tail}


STEPS = ("full run, 1 process", "full run", "no-change rerun", "add one article", "change one article", "delete one article")


class Lane:
    """One code's runs: its own copy of the corpus and its own warehouse."""

    def __init__(self, corpus: Path, work: Path, code: Path = ROOT, label: str = "") -> None:
        self.raw, self.work, self.code, self.label = work / "raw", work, code, label
        shutil.copytree(corpus, self.raw)
        self.results: list[tuple[str, dict]] = []

    def step(self, name: str) -> None:
        articles = sorted((self.raw / "articles").iterdir())
        if name == "add one article":  # a new text (a plain copy would be refused as a duplicate)
            (self.raw / "articles" / "zz_added.md").write_text(
                articles[0].read_text(encoding="utf-8") + "\nA later count found 4,321 people in custody.\n", encoding="utf-8")
        elif name == "change one article":
            articles[1].write_text(articles[1].read_text(encoding="utf-8")
                                   + "\nOfficials released 1,234 people convicted of burglary.\n", encoding="utf-8")
        elif name == "delete one article":
            articles[2].unlink()
        if name == "full run, 1 process":
            result = run(self.raw, self.work / "wh1", 1, self.code)
            shutil.rmtree(self.work / "wh1", ignore_errors=True)
        else:
            result = run(self.raw, self.work / "wh", None, self.code)
        self.results.append((name, result))
        print(f"  {self.label}{name}: {result['seconds']} s, {result['cpu']} CPU s, {result['peak_rss_mb']} MB, "
              f"exit {result['rc']}", flush=True)


def scenarios(lanes: list[Lane], single: bool) -> None:
    """Every step, each lane in turn (interleaved, so a busy machine weighs on both alike)."""
    for name in STEPS:
        if name == "full run, 1 process" and not single:
            continue
        for lane in lanes:
            lane.step(name)


def table(n: int, results: list[tuple[str, dict]], baseline: dict[str, tuple] | None, baseline_name: str) -> str:
    full = dict(results)["full run"]["seconds"] or 1
    head = "| run | wall s | CPU s | peak RSS MB | % of full run | exit |"
    rule = "|---|---:|---:|---:|---:|---:|"
    if baseline:
        head += f" {baseline_name}: wall s | CPU s | peak RSS MB | % of its full run |"
        rule += "---:|---:|---:|---:|"
    lines = [f"### {n:,} articles", "", head, rule]
    base_full = (baseline or {}).get("full run", (None,))[0] or 1
    for name, r in results:
        line = f"| {name} | {r['seconds']} | {r['cpu']} | {r['peak_rss_mb']} | {100 * r['seconds'] / full:.0f}% | {r['rc']} |"
        if baseline:
            b = baseline.get(name)
            line += (f" {b[0]} | {b[1]} | {b[2]} | {100 * b[0] / base_full:.0f}% |" if b else " | | | |")
        lines.append(line)
    return "\n".join(lines)


def worktree(rev: str, where: Path) -> Path:
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], cwd=ROOT, check=True, capture_output=True)
    return where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, action="append", help="corpus size (repeatable; default 10,000)")
    ap.add_argument("--seed", type=int, default=20240925)
    ap.add_argument("--no-single", action="store_true", help="skip the one-process full run")
    ap.add_argument("--baseline", metavar="REV", help="also run the scenarios with git revision REV's code, side by side")
    ap.add_argument("--baseline-only", action="store_true", help="with --baseline: run only the baseline's scenarios")
    ap.add_argument("--baseline-json", type=Path, metavar="FILE",
                    help="print beside the baseline of an earlier --json FILE (its 'baseline' entry, else its results)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--corpus", type=Path, metavar="DIR",
                    help="use this corpus folder (articles/, sources/: one this benchmark built, kept with --keep-corpus) "
                         "instead of building one; with one --articles")
    ap.add_argument("--keep-corpus", type=Path, metavar="DIR", help="also keep the corpus built here (hard links)")
    args = ap.parse_args()
    report = {}
    for n in args.articles or [10_000]:
        with tempfile.TemporaryDirectory(prefix="factledger-scale-") as tmp:
            tmp = Path(tmp)
            if args.corpus:
                found = sum(1 for _ in (args.corpus / "articles").iterdir())
                if found != n:
                    sys.exit(f"{args.corpus} holds {found:,} articles, not {n:,}")
                print(f"using the corpus in {args.corpus} ({n:,} articles) ...", flush=True)
                shutil.copytree(args.corpus, tmp / "corpus", copy_function=os.link)
            else:
                print(f"building {n:,} articles ...", flush=True)
                write_corpus(tmp / "corpus", n, args.seed)
                if args.keep_corpus:
                    shutil.copytree(tmp / "corpus", args.keep_corpus, copy_function=os.link)
            baseline, baseline_name = (BASELINE_10K, "doc's table (30aaab9)") if n == 10_000 else (None, "")
            if args.baseline_json:
                earlier = json.loads(args.baseline_json.read_text())
                found = earlier.get("baseline", {}).get(str(n)) or earlier.get(str(n))
                if found:
                    baseline = {name: (r["seconds"], r["cpu"], r["peak_rss_mb"]) for name, r in found.items()}
                    baseline_name = earlier.get("baseline_name") or str(args.baseline_json)
            lanes, code = [], None
            try:
                if args.baseline:
                    code = worktree(args.baseline, tmp / "baseline-code")
                    lanes.append(Lane(tmp / "corpus", tmp / "base", code, label=f"{args.baseline}: "))
                if not args.baseline_only:
                    lanes.append(Lane(tmp / "corpus", tmp / "new", label="this checkout: " if args.baseline else ""))
                scenarios(lanes, not args.no_single)
            finally:
                if code is not None:
                    subprocess.run(["git", "worktree", "remove", "--force", str(code)], cwd=ROOT, capture_output=True)
            if args.baseline:
                base = lanes[0].results
                baseline = {name: (r["seconds"], r["cpu"], r["peak_rss_mb"]) for name, r in base}
                baseline_name = args.baseline
                report["baseline_name"] = args.baseline
                report.setdefault("baseline", {})[n] = {name: {k: v for k, v in r.items() if k != "tail"} for name, r in base}
                if args.baseline_only:
                    continue
            results = lanes[-1].results
        for name, r in results:
            if r["rc"] != 0:
                print(f"{name} exited {r['rc']}:\n{r['tail']}", file=sys.stderr)
        print(table(n, results, baseline, baseline_name), flush=True)
        report[n] = {name: {k: v for k, v in r.items() if k != "tail"} for name, r in results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
