"""The HTML report on a large synthetic corpus: pipeline run, then the report's size and time.

    .venv/bin/python benchmarks/bench_report.py [N]      # default 10,000 articles

Articles come from bench_claims.build_corpus (sentences of the real articles, numbers and dates
perturbed), spread over 40 synthetic outlets with example.org URLs, written under a temporary
raw/ next to a copy of the checkout's sources; `factledger run` builds the lake (the `report` asset
writes the report), then `factledger report --force` is timed again on its own.

The report of a version published after a small change, against a baseline's code:

    .venv/bin/python benchmarks/bench_report.py --rewrite WAREHOUSE [--baseline CHECKOUT] [--repeat K]

WAREHOUSE holds at least two published versions (say, a corpus published, one article changed,
published again); it is copied once per lane (this checkout, and CHECKOUT's code by PYTHONPATH).
Each lane first writes the previous version's report with its own code (what the next report takes
pages from), then, K times and the lanes interleaved, rewrites the last version's report twice in a
process of its own: taking pages over ("reuse") and with nothing to take over ("full": the previous
report's manifest hidden). CPU seconds of the rewrite alone (the child's process time, imports left out).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).absolute().parent.parent  # not resolved: a linked copy benchmarks its own checkout


def latest_document_date(sources: Path) -> dt.date:
    """No article may predate the document it cites (a blocking check): the corpus starts after it."""
    dates = []
    for descriptor in sources.glob("*/source.yaml"):
        found = (yaml.safe_load(descriptor.read_text()) or {}).get("dates", {}).get("document_date")
        if found:
            dates.append(found if isinstance(found, dt.date) else dt.date.fromisoformat(str(found)))
    return max(dates, default=dt.date(2000, 1, 1))


def write_raw(raw: Path, n: int) -> None:
    # Imported here: bench_claims puts its checkout first on sys.path, and --rewrite's children
    # must import the lane's code (PYTHONPATH).
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_claims import build_corpus

    shutil.copytree(ROOT / "raw" / "sources", raw / "sources")
    (raw / "articles").mkdir(parents=True)
    earliest = latest_document_date(raw / "sources") + dt.timedelta(days=1)
    for i, a in enumerate(build_corpus(n, seed=14)):
        if a["published"] and dt.date.fromisoformat(a["published"]) < earliest:
            a["published"] = (earliest + dt.timedelta(days=i % 60)).isoformat()
        outlet = f"Synthetic Outlet {i % 40:02d}"
        front = [f"outlet: {outlet}", f"url: https://outlet{i % 40:02d}.example.org/{a['article_id']}",
                 f"title: Synthetic article {i}"]
        if a["published"]:
            front.append(f"published: {a['published']}")
        cites = a["cites"] or []
        cites = [c.strip() for c in cites.split(",")] if isinstance(cites, str) else list(cites)
        front.append(f"cites: [{', '.join(c for c in cites if c)}]")
        (raw / "articles" / f"{a['article_id']}.md").write_text("---\n" + "\n".join(front) + "\n---\n" + a["body"], encoding="utf-8")


MANIFEST = ".pages.json"  # factledger.report.reuse.MANIFEST, the same name in every revision measured


def child(warehouse: Path, version: int | None, full: bool) -> None:
    """In a process of its own (the lane's code on PYTHONPATH): rewrite one report, print its figures."""
    import factledger
    from factledger import lake, versions
    from factledger.report import build

    with lake.connect(warehouse, read_only=True) as con:
        chosen = versions.resolve(con, version)
        hidden = []
        if full:
            for earlier in range(1, chosen.version):
                p = warehouse / "exports" / f"v{earlier}" / "report" / MANIFEST
                if p.exists():
                    p.rename(p.with_name(MANIFEST + ".hidden"))
                    hidden.append(p)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            written = build.write_report(con, warehouse, chosen, force=True)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - started
        finally:
            for p in hidden:
                p.with_name(MANIFEST + ".hidden").rename(p)
    print(json.dumps({"cpu": round(cpu, 2), "wall": round(wall, 2), "pages": written.pages, "bytes": written.bytes,
                      "code": str(Path(factledger.__file__).parent.parent)}))


def rewrite(warehouse: Path, baseline: Path | None, repeat: int) -> None:
    lanes = {"this": ROOT, **({"baseline": baseline} if baseline else {})}
    me = Path(__file__).absolute()
    with tempfile.TemporaryDirectory(prefix="bench-report-rewrite-") as tmp:
        copies = {lane: Path(tmp) / lane for lane in lanes}

        def run(lane: str, *args: str) -> dict:
            env = {**os.environ, "PYTHONPATH": str(lanes[lane])}
            out = subprocess.run([sys.executable, str(me), "--child", str(copies[lane]), *args], env=env,
                                 capture_output=True, text=True, check=True)
            return json.loads(out.stdout.strip().splitlines()[-1])

        last = None
        for lane, copy in copies.items():
            shutil.copytree(warehouse, copy, symlinks=True)
            from factledger import lake, versions  # the versions only: read with this checkout's code

            with lake.connect(copy, read_only=True) as con:
                known = versions.versions(con)
            if len(known) < 2:
                raise SystemExit("the warehouse needs two published versions")
            last = known[-1].version
            run(lane, str(last - 1), "reuse")  # the previous report, written by this lane's code
        figures: dict[str, list] = {f"{lane} {mode}": [] for mode in ("reuse", "full") for lane in lanes}
        for _ in range(repeat):
            for mode in ("reuse", "full"):
                for lane in lanes:
                    found = run(lane, str(last), mode)
                    figures[f"{lane} {mode}"].append(found)
                    print(lane, mode, found, flush=True)
        print(json.dumps({k: {"cpu": [f["cpu"] for f in v], "min_cpu": min(f["cpu"] for f in v), "pages": v[0]["pages"]}
                          for k, v in figures.items()}, indent=1))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        return child(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "full")
    if sys.argv[1:2] == ["--rewrite"]:
        args = sys.argv[3:]
        baseline = Path(args[args.index("--baseline") + 1]) if "--baseline" in args else None
        repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 3
        return rewrite(Path(sys.argv[2]), baseline, repeat)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    exe = Path(sys.executable).with_name("factledger")
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        raw, warehouse = Path(tmp) / "raw", Path(tmp) / "warehouse"
        write_raw(raw, n)
        started = time.perf_counter()
        run = subprocess.run([str(exe), "run", "--raw", str(raw), "--warehouse", str(warehouse)], capture_output=True, text=True)
        pipeline = time.perf_counter() - started
        if run.returncode != 0:
            print(run.stdout[-3000:], run.stderr[-3000:])
            raise SystemExit("pipeline failed")
        started = time.perf_counter()
        rep = subprocess.run([str(exe), "report", "--force", "--warehouse", str(warehouse)], capture_output=True, text=True, check=True)
        alone = time.perf_counter() - started
        folder = Path(rep.stdout.strip()).parent
        files = list(folder.rglob("*.html"))
        biggest = max(files, key=lambda p: p.stat().st_size)
        print(json.dumps({
            "articles": n, "pipeline_seconds": round(pipeline, 1), "report_command_seconds": round(alone, 1),
            "report_line": rep.stderr.strip(), "pages": len(files),
            "megabytes": round(sum(p.stat().st_size for p in files) / 1e6, 1),
            "index_kb": round((folder / "index.html").stat().st_size / 1e3), "largest_page": f"{biggest.relative_to(folder)} "
            f"{biggest.stat().st_size / 1e3:.0f} kB",
            "summary": [line for line in run.stdout.splitlines() if line.strip().startswith(("report:", "claims:"))],
        }, indent=1))


if __name__ == "__main__":
    main()
