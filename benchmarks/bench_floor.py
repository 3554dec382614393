"""The floor under claims extraction: DuckDB alone reading the articles and finding their number
tokens, on the same synthetic corpus as benchmarks/bench_claims.py.

    .venv/bin/python benchmarks/bench_floor.py [--articles 10000] [--seed 20240925]

It writes the corpus as article files, then times `read_text` + `regexp_extract_all` over them
(both cores, as DuckDB runs). No scoping, no verdicts: only how fast a number can be found at
all, the bound every extractor sits above. Printed: articles per second, and the tokens found.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from bench_claims import build_corpus  # noqa: E402  (the same generator, the same seed)

NUMBER_TOKEN = r"\d[\d,.]*"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20240925)
    args = parser.parse_args()
    corpus = build_corpus(args.articles, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        for i, article in enumerate(corpus):
            Path(tmp, f"{i:06d}.md").write_text(article["body"], encoding="utf-8")
        con = duckdb.connect()
        query = f"SELECT count(*), sum(len(regexp_extract_all(content, '{NUMBER_TOKEN}'))) FROM read_text('{tmp}/*.md')"
        con.execute(query).fetchall()  # warm the file cache, as the pipeline's files would be
        start = time.perf_counter()
        files, tokens = con.execute(query).fetchone()
        seconds = time.perf_counter() - start
    print(f"DuckDB regex floor: {files:,} articles, {tokens:,} number tokens in {seconds:.2f} s = "
          f"{files / seconds:,.0f} articles/s")


if __name__ == "__main__":
    main()
