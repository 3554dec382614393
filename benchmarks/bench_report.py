"""The HTML report on a large synthetic corpus: pipeline run, then the report's size and time.

    .venv/bin/python benchmarks/bench_report.py [N]      # default 10,000 articles

Articles come from bench_claims.build_corpus (sentences of the real articles, numbers and dates
perturbed), spread over 40 synthetic outlets with example.org URLs, written under a temporary
raw/ next to a copy of the checkout's sources; `factledger run` builds the lake (the `report` asset
writes the report), then `factledger report --force` is timed again on its own.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).absolute().parent.parent  # not resolved: a linked copy benchmarks its own checkout
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_claims import build_corpus  # noqa: E402


def latest_document_date(sources: Path) -> dt.date:
    """No article may predate the document it cites (a blocking check): the corpus starts after it."""
    dates = []
    for descriptor in sources.glob("*/source.yaml"):
        found = (yaml.safe_load(descriptor.read_text()) or {}).get("dates", {}).get("document_date")
        if found:
            dates.append(found if isinstance(found, dt.date) else dt.date.fromisoformat(str(found)))
    return max(dates, default=dt.date(2000, 1, 1))


def write_raw(raw: Path, n: int) -> None:
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


def main() -> None:
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
