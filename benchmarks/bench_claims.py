#!/usr/bin/env python3
"""Benchmark: factledger's claims pipeline vs quantulum3 on a synthetic corpus built from raw/.

    .venv/bin/python benchmarks/bench_claims.py                 # 10,000 articles, both contenders
    .venv/bin/python benchmarks/bench_claims.py --articles 2000 --only ours

The corpus: sentences of the real articles, shuffled into new articles whose lengths follow the
real ones, with numbers perturbed (same digit count and format; years moved by a few years; day
numbers after a month kept valid) and month and weekday names swapped at random, and publication
dates moved by up to two months (one article in ten has none). Deterministic for a given --seed.

Each contender runs in its own subprocess on the same corpus file, so peak memory is its own:
  ours        factledger.claims, per article: extraction (numbers, hedges, dates, scope), verdicts
              against the figures, date checks and name variants; figures loaded beforehand;
  quantulum3  quantulum3.parser.parse(body), per article (rules only, as pinned).
Setup (imports, lexicon or quantulum3's first-call loading, figures) is not timed. Reported:
articles per second over the timed loop (wall clock, and per CPU second of the process, which is
steadier on a shared machine), peak RSS of the process (resource.getrusage; for ours it includes
DuckDB, loaded to read the figures) and its growth during the timed loop, and the peak Python heap
(tracemalloc) while processing the first 500 articles again after the timed loop. When both run,
the last line gives our rate as a multiple of quantulum3's.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w,])")
_MONTH_DAY = re.compile(r"\b(" + "|".join(MONTHS) + r"|Sept?\.)\s+(\d{1,2})\b")
_NAMES = re.compile(r"\b(?:" + "|".join(MONTHS + WEEKDAYS) + r")\b")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"\u201c])|(?<=[.!?][\"\u201d\u2019)])\s+(?=[A-Z\"\u201c])|\n+")


# ---- corpus ------------------------------------------------------------------------------------

def real_articles() -> list[dict]:
    from factledger.articles import ParsedArticle, parse_article

    out = []
    for path in sorted((ROOT / "raw" / "articles").glob("*.md")):
        parsed = parse_article(path.read_bytes(), path.name)
        if isinstance(parsed, ParsedArticle):
            out.append({"body": parsed.body, "published": parsed.published, "cites": parsed.cites})
    return out


def perturb_number(text: str, rng: random.Random) -> str:
    plain = text.replace(",", "")
    if re.fullmatch(r"(?:19|20)\d\d", plain):
        return str(int(plain) + rng.randint(-3, 3))
    if rng.random() < 0.3:
        return text
    if "." in plain:
        whole, frac = plain.split(".")
        new = f"{rng.randint(10 ** (len(whole) - 1) if len(whole) > 1 else 0, 10 ** len(whole) - 1)}.{rng.randint(0, 10 ** len(frac) - 1):0{len(frac)}d}"
        return new
    digits = len(plain)
    value = rng.randint(10 ** (digits - 1) if digits > 1 else 1, 10**digits - 1)
    if rng.random() < 0.3 and digits > 2:  # keep some round numbers, as writers do
        value = round(value, -(digits - 2))
    return f"{value:,}" if "," in text else str(value)


def perturb(sentence: str, rng: random.Random) -> str:
    sentence = _MONTH_DAY.sub(lambda m: f"{m.group(1)} {rng.randint(1, 28)}", sentence)
    sentence = _NUMBER.sub(lambda m: perturb_number(m.group(), rng) if not _is_day(sentence, m) else m.group(), sentence)
    return _NAMES.sub(lambda m: rng.choice(MONTHS if m.group() in MONTHS else WEEKDAYS), sentence)


def _is_day(sentence: str, m: re.Match) -> bool:
    return bool(re.search(r"(?:" + "|".join(MONTHS) + r"|Sept?\.)\s+$", sentence[:m.start()]))


def build_corpus(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    real = real_articles()
    pool = [s for a in real for s in _SENTENCE_SPLIT.split(a["body"]) if s.strip()]
    lengths = [len(a["body"]) for a in real]
    corpus = []
    for i in range(n):
        target = int(rng.choice(lengths) * rng.uniform(0.7, 1.3))
        parts, size = [], 0
        while size < target:
            sentence = perturb(rng.choice(pool), rng)
            parts.append(sentence)
            parts.append("\n\n" if rng.random() < 0.3 else " ")
            size += len(sentence) + 1
        base = rng.choice(real)
        published = None
        if base["published"] and rng.random() >= 0.1:
            published = base["published"] + dt.timedelta(days=rng.randint(-60, 60))
        corpus.append({"article_id": f"synthetic_{i:05d}", "body": "".join(parts).strip() + "\n",
                       "published": published.isoformat() if published else None, "cites": base["cites"]})
    return corpus


# ---- contenders (run in a subprocess each) -----------------------------------------------------

TRACE_SAMPLE = 500


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def traced_peak_mb(process, articles: list[dict]) -> float:
    """Peak Python heap (tracemalloc) while processing a sample, after the timed loop (tracing
    slows Python down, so it is not done while timing)."""
    import tracemalloc

    tracemalloc.start()
    for a in articles[:TRACE_SAMPLE]:
        process(a)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def run_ours(corpus: list[dict]) -> dict:
    from factledger import figures, ingest, lake, tables
    from factledger.claims import lexicon, pipeline, store

    lex = lexicon.load()
    with tempfile.TemporaryDirectory() as tmp, lake.connect(Path(tmp)) as con:
        tables.ensure_tables(con)
        ingest.sync_sources(con, ROOT / "raw")
        figures.rebuild_figures(con)
        context = store.load_context(con)
    for a in corpus:
        a["published"] = dt.date.fromisoformat(a["published"]) if a["published"] else None
    cites = {a["article_id"]: a["cites"] for a in corpus}
    # Each article is scoped with the words of the sources it cites (compiled once per set of sources).
    pipeline.extract_article("warmup", corpus[0]["body"], None, "0" * 64, context.lexicon_for(corpus[0]["cites"], lex))
    before = rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    def process(a: dict) -> tuple[list, list, list]:
        extraction = pipeline.extract_article(a["article_id"], a["body"], a["published"], "0" * 64, context.lexicon_for(a["cites"], lex))
        rows = pipeline.reconcile_rows(extraction.claims, cites, context, lex)
        dates = pipeline.check_date_rows(extraction.dates, cites, context)
        return rows, dates, pipeline.name_rows(a["article_id"], a["body"], a["cites"], context, lex)

    n_claims = n_assertive = n_flagged_dates = n_names = 0
    for a in corpus:
        rows, dates, names = process(a)
        n_claims += len(rows)
        n_assertive += sum(r["verdict"] != "not_in_source" for r in rows)
        n_flagged_dates += sum(d["flagged"] for d in dates)
        n_names += len(names)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = rss_mb()
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rss_before_mb": before, "peak_rss_mb": peak, "traced_peak_mb": traced_peak_mb(process, corpus),
            "found": n_claims, "note": f"{n_assertive} reconciled to a figure, {n_flagged_dates} dates flagged, {n_names} name variants"}


def run_quantulum3(corpus: list[dict]) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    from quantulum3 import parser

    parser.parse("warm up: 7.5 million people and 13,099 more")
    before = rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    found = 0
    for a in corpus:
        found += len(parser.parse(a["body"]))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak = rss_mb()
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "rss_before_mb": before, "peak_rss_mb": peak,
            "traced_peak_mb": traced_peak_mb(lambda a: parser.parse(a["body"]), corpus), "found": found, "note": "quantities"}


CONTENDERS = {"ours": run_ours, "quantulum3": run_quantulum3}


def child(name: str, corpus_path: Path, limit: int | None) -> None:
    corpus = [json.loads(line) for line in corpus_path.read_text(encoding="utf-8").splitlines()]
    if limit:
        corpus = corpus[:limit]
    result = CONTENDERS[name](corpus)
    result.update(contender=name, articles=len(corpus), chars=sum(len(a["body"]) for a in corpus))
    print(json.dumps(result))


# ---- driver ------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20240925)
    ap.add_argument("--only", choices=sorted(CONTENDERS), action="append", help="run only this contender (repeatable)")
    ap.add_argument("--quantulum3-limit", type=int, help="give quantulum3 only the first N articles (it is ~40x slower)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--child", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.corpus, args.limit)
        return

    started = time.perf_counter()
    corpus = build_corpus(args.articles, args.seed)
    print(f"corpus: {len(corpus)} synthetic articles, {sum(len(a['body']) for a in corpus) / len(corpus):,.0f} characters on average "
          f"(built in {time.perf_counter() - started:.1f} s, seed {args.seed})", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus_path = Path(tmp) / "corpus.jsonl"
        corpus_path.write_text("\n".join(json.dumps(a) for a in corpus) + "\n", encoding="utf-8")
        for name in args.only or sorted(CONTENDERS):
            command = [sys.executable, __file__, "--child", name, "--corpus", str(corpus_path)]
            if name == "quantulum3" and args.quantulum3_limit:
                command += ["--limit", str(args.quantulum3_limit)]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = results[-1]
            print(f"  {name}: {r['articles']} articles in {r['seconds']:.1f} s", flush=True)
    print()
    print(f"| contender | articles | seconds | articles/s | CPU s | articles/CPU-s | peak RSS (MB) | RSS growth in loop (MB) | "
          f"Python heap peak, {TRACE_SAMPLE} articles (MB) | found |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(f"| {r['contender']} | {r['articles']:,} | {r['seconds']:.1f} | {r['articles'] / r['seconds']:,.1f} | "
              f"{r['cpu_seconds']:.1f} | {r['articles'] / r['cpu_seconds']:,.1f} | "
              f"{r['peak_rss_mb']:,.0f} | {r['peak_rss_mb'] - r['rss_before_mb']:,.0f} | {r['traced_peak_mb']:,.1f} | {r['found']:,} ({r['note']}) |")
    by_name = {r["contender"]: r for r in results}
    if "ours" in by_name and "quantulum3" in by_name:
        ours, theirs = by_name["ours"], by_name["quantulum3"]
        wall = (ours["articles"] / ours["seconds"]) / (theirs["articles"] / theirs["seconds"])
        cpu = (ours["articles"] / ours["cpu_seconds"]) / (theirs["articles"] / theirs["cpu_seconds"])
        print(f"\nours {ours['articles'] / ours['seconds']:,.1f} articles/s, quantulum3 {theirs['articles'] / theirs['seconds']:,.1f} "
              f"articles/s: ours is {wall:,.1f}x quantulum3's rate ({cpu:,.1f}x per CPU second; same corpus, one after the other)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
