"""What a dataset version was made from: the raw inputs' hashes, the published content's hash,
and the code (git commit and a hash of the package source).

The *content hash* of a version (column `fingerprint` of `dataset_versions`) is one SHA-256 over
the input hashes and each published table's hash; an unchanged content hash publishes nothing.
A table's hash is computed in DuckDB from one md5 per row (order-independent, and updated from
the changed rows alone when only some rows changed).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import duckdb

from factledger import paths
from factledger.catalog import quote

# The package source whose hash is recorded as part of the code version.
CODE_DIRS = ("factledger", "assets", "schemas", "orchestration")
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".toml")


def content_hash(input_hashes: dict[str, str], table_hashes: dict[str, str]) -> str:
    """One SHA-256 over the inputs and the published content; key order does not matter."""
    payload = json.dumps({"inputs": input_hashes, "tables": table_hashes}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def row_digest_sql(columns: list[str]) -> str:
    """SQL: a row's `columns` as one 128-bit MD5 digest (UHUGEINT)."""
    return "md5_number(CAST(struct_pack(" + ", ".join(f"{quote(c)} := {quote(c)}" for c in columns) + ") AS VARCHAR))"


def digest_sums_sql(relation: str, columns: list[str]) -> str:
    """SQL returning (rows, sum of the high halves, sum of the low halves) of the rows' digests."""
    low = "18446744073709551615::UHUGEINT"  # 2^64 - 1
    return (f"SELECT count(*), coalesce(sum((d >> 64)::UBIGINT), 0), coalesce(sum((d & {low})::UBIGINT), 0) "
            f"FROM (SELECT {row_digest_sql(columns)} AS d FROM {relation})")


# A table hash reads `rows-md5-sums:<rows>:<sum of the high halves>:<sum of the low halves>`.
TABLE_HASH_PREFIX = "rows-md5-sums:"


def table_hash_text(rows: int, high: int, low: int) -> str:
    return f"{TABLE_HASH_PREFIX}{int(rows)}:{int(high)}:{int(low)}"


def parse_table_hash(text: str | None) -> tuple[int, int, int] | None:
    """(rows, high, low) of a `table_hash_text`; None for anything else (an earlier version's SHA-256)."""
    if not text or not text.startswith(TABLE_HASH_PREFIX):
        return None
    try:
        rows, high, low = (int(part) for part in text[len(TABLE_HASH_PREFIX):].split(":"))
    except ValueError:
        return None
    return rows, high, low


def table_hash(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> str:
    """A relation's table hash, independent of row order: its row count and the sums of the two
    64-bit halves of every row's digest (a multiset hash: a repeated row counts twice). No sort and
    no string of every digest, so memory stays flat (the earlier form, a SHA-256 of the sorted
    digests concatenated, sorted 1.5 million digests into a 47 MB string and ran out of a 1 GB
    memory limit at 100,000 articles). Being sums, a table's hash follows a change from the rows
    that changed alone (`updated_table_hash`)."""
    return table_hash_text(*con.execute(digest_sums_sql(relation, columns)).fetchone())


def updated_table_hash(con: duckdb.DuckDBPyConnection, known: str | None, before: str, after: str,
                       columns: list[str]) -> str | None:
    """The table hash after replacing the rows of relation `before` (those the `known` hash counted)
    by those of `after`: known - digests(before) + digests(after). None when `known` is not a
    table hash of this form (then hash the table whole)."""
    parsed = parse_table_hash(known)
    if parsed is None:
        return None
    gone = con.execute(digest_sums_sql(before, columns)).fetchone()
    new = con.execute(digest_sums_sql(after, columns)).fetchone()
    return table_hash_text(*(k - g + n for k, g, n in zip(parsed, gone, new)))


def input_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """SHA-256 of every raw input behind the present data: article files and source folders."""
    rows = con.execute(
        "SELECT source_path, sha256 FROM lake.main.articles WHERE retired_at IS NULL "
        "UNION ALL SELECT descriptor_path, sha256 FROM lake.main.sources ORDER BY 1"
    ).fetchall()
    return dict(rows)


def code_sha256(root: Path = paths.PROJECT_ROOT) -> str:
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def git_commit(root: Path = paths.PROJECT_ROOT) -> str | None:
    """`git rev-parse HEAD`, suffixed -dirty when the package source differs from it; None without git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *CODE_DIRS], cwd=root, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.returncode == 1 else "")
