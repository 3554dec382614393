"""The claims table's checks on a large synthetic table, three ways, in one run:

- pandera.ibis validating the model itself (the baseline: one query per check);
- the model compiled to one SQL pass (factledger/validation.py, what the pipeline runs);
- the same rules written by hand as one SQL query (the floor).

    .venv/bin/python benchmarks/bench_checks.py [--rows 10000000] [--bad 0.0001]

The table lives in a DuckDB file under a temporary folder (so it can spill); a small share of rows
(`--bad`) breaks a rule so that every way also has failing rows to find.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import ibis
import pandera.ibis as pa

from factledger import validation
from schemas import Claims

VERDICTS = "'exact', 'rounded', 'wrong_scope', 'contradicted', 'not_in_source'"

# The rules of schemas.claims.Claims, written by hand: one boolean per row, true when it fails.
HAND_WRITTEN = f"""
SELECT count(*) FILTER (WHERE
    claim_id IS NULL OR article_id IS NULL OR article_sha256 IS NULL OR NOT regexp_matches(article_sha256, '^[0-9a-f]{{64}}$')
    OR start IS NULL OR start < 0 OR "end" IS NULL OR "end" < 1 OR phrase IS NULL OR length(phrase) < 1
    OR sentence_start IS NULL OR sentence_start < 0 OR sentence IS NULL OR value IS NULL OR value < 0
    OR qualifier IS NULL OR qualifier NOT IN ('none', 'more_than', 'at_least', 'nearly', 'about', 'less_than', 'at_most')
    OR kind IS NULL OR kind NOT IN ('count', 'percent', 'money', 'duration', 'ratio', 'other')
    OR rounding_unit IS NULL OR rounding_unit <= 0 OR significant_digits IS NULL OR significant_digits < 1
    OR dims IS NULL OR scope IS NULL OR coalesce(direction NOT IN ('up', 'down', 'either'), FALSE)
    OR verdict IS NULL OR verdict NOT IN ({VERDICTS}) OR explanation IS NULL OR length(explanation) < 1
    OR figures_fingerprint IS NULL
    OR NOT ("end" > start AND "end" - start = length(phrase) AND start >= sentence_start)
    OR NOT (verdict <> 'exact' OR (figure_value IS NOT NULL AND value = abs(figure_value)))
    OR NOT ((verdict IN ('exact', 'rounded', 'wrong_scope', 'contradicted') AND figure_id IS NOT NULL AND figure_value IS NOT NULL)
            OR (verdict NOT IN ('exact', 'rounded', 'wrong_scope', 'contradicted') AND figure_id IS NULL AND figure_value IS NULL))
    OR NOT (kind IN ('count', 'percent') OR verdict = 'not_in_source')
    OR NOT coalesce(measure_basis IN ('before', 'after', 'opening', 'sentence', 'unnamed', 'unlisted', 'only changing measure',
                                      'previous sentence') OR starts_with(measure_basis, 'earlier mention at ')
                    OR starts_with(measure_basis, 'compared with mention at ') OR starts_with(measure_basis, 'paired with mention at ')
                    OR measure_basis IS NULL, TRUE)
    OR n_key > 1)
FROM (SELECT *, count(*) OVER (PARTITION BY claim_id) AS n_key FROM claims)
"""


def build(con: duckdb.DuckDBPyConnection, rows: int, bad: float) -> None:
    con.execute(Claims.ddl(catalog="bench"))
    every = max(1, round(1 / bad)) if bad else rows + 1
    con.execute(f"""
        INSERT INTO claims
        SELECT 'a' || (i // 40) || ':' || (i % 40) * 10, 'a' || (i // 40), repeat('0', 64),
               CASE WHEN i % {every} = 7 THEN -1 ELSE (i % 40) * 10 END, (i % 40) * 10 + 3, '435',
               0, 'About 435 people were held.', 435, 'none', NULL, 'count', NULL, 1, 3,
               'detained', 'held', 'after', 'custody=detained', '{{}}', NULL, NULL, NULL, NULL, NULL,
               CASE WHEN i % 3 = 0 THEN 'exact' ELSE 'not_in_source' END,
               CASE WHEN i % 3 = 0 THEN 's:detained' END, CASE WHEN i % 3 = 0 THEN 435 END, NULL,
               'The source states 435.', 'f'
        FROM range({rows}) t(i)""")


def timed(label: str, fn) -> tuple[str, float, object]:
    start = time.perf_counter()
    out = fn()
    return label, time.perf_counter() - start, out


def pandera_ibis(con) -> int:
    try:
        Claims.validate(ibis.duckdb.from_connection(con).table("claims"), lazy=True)
    except pa.errors.SchemaErrors as err:
        return len(err.failure_cases)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--bad", type=float, default=0.0001, help="share of rows breaking a rule (default 0.0001)")
    parser.add_argument("--skip-pandera", action="store_true", help="leave out the pandera.ibis baseline")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "bench.duckdb"))  # its catalog is named `bench`
        start = time.perf_counter()
        build(con, args.rows, args.bad)
        print(f"built claims: {args.rows:,} rows in {time.perf_counter() - start:.1f} s", flush=True)
        runs = [timed("hand-written SQL (one query)", lambda: con.execute(HAND_WRITTEN).fetchone()[0])]
        runs.append(timed("pandera model compiled to SQL (factledger)", lambda: validation.validate(con, Claims).failure_count))
        if not args.skip_pandera:
            runs.append(timed("pandera.ibis validate (baseline)", lambda: pandera_ibis(con)))
        floor = runs[0][1]
        print(f"\n| way | seconds | x hand-written | failing rows (hand) / failure cases |\n|---|---:|---:|---:|")
        for label, seconds, failing in runs:
            print(f"| {label} | {seconds:.2f} | {seconds / floor:.2f} | {failing:,} |")


if __name__ == "__main__":
    main()
