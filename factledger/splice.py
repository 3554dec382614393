"""Sorted CSV that a small change rewrites in part: written in key-range chunks (a COPY per range
of about CHUNK_BYTES), with an index beside it (`.<name>.index.json`) saying which key each chunk
starts with and how many bytes and rows it holds. The next time, given the keys that changed
(DuckLake's change feed), only the chunks whose range holds one of them are written again. Two
forms:

- a folder of parts (`write_csv_parts`, the exports of each version): part i is chunk i with the
  header line; an unchanged part is the previous folder's file, hard-linked, so no unchanged byte
  is read or written;
- one file (`write_csv`, reports/claims.csv): the other chunks' bytes are copied from the previous
  file (`os.copy_file_range`).

Either way the result is byte for byte what one COPY of the whole sorted query gives (the parts
less their repeated header lines), and what was written before is never edited.
"""
from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from factledger import sql

INDEX_FORMAT = 1
# About this many bytes of CSV a chunk: a one-row change rewrites one chunk (sometimes two).
CHUNK_BYTES = 32 * 1024 * 1024
# A file written whole: its first chunk has this many rows, the next are sized by what that
# one weighed; chunks start at multiples of UNIT_ROWS rows.
FIRST_CHUNK_ROWS, UNIT_ROWS = 4_096, 256
# More changed keys than this and the file is written whole (finding each one's chunk is Python).
MAX_CHANGED_KEYS = 50_000


@dataclass(frozen=True)
class CsvQuery:
    """The CSV a COPY writes: `SELECT <select> FROM <source> ORDER BY <key>` with HEADER and
    `options`. `key`: SQL expressions that identify a row and give the file its order."""

    select: str
    source: str
    key: tuple[str, ...]
    options: str

    def fingerprint(self) -> str:
        """Changes whenever the file's columns, rows' order or format could: an index written for
        another query is not used. (Not the source: the same query over a later snapshot of the
        same table is what a splice is for.)"""
        text = json.dumps([INDEX_FORMAT, self.select, list(self.key), self.options])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def whole_sql(self) -> str:
        """The one COPY the chunked file equals (tests compare the two)."""
        return f"COPY (SELECT {self.select} FROM {self.source} ORDER BY {', '.join(self.key)}) TO {{path}} (HEADER, {self.options})"


@dataclass(frozen=True)
class Chunk:
    first: tuple | None  # the key of its first row (None: a query whose keys the index cannot hold)
    offset: int
    length: int
    rows: int


@dataclass(frozen=True)
class Index:
    query: str  # CsvQuery.fingerprint
    header: int  # bytes of the header line at the start of the file
    chunks: tuple[Chunk, ...]

    @property
    def size(self) -> int:
        return self.header + sum(c.length for c in self.chunks)

    def to_json(self) -> str:
        return json.dumps({"format": INDEX_FORMAT, "query": self.query, "header": self.header,
                           "chunks": [[None if c.first is None else list(c.first), c.offset, c.length, c.rows] for c in self.chunks]})

    @classmethod
    def from_json(cls, text: str) -> "Index":
        data = json.loads(text)
        if data.get("format") != INDEX_FORMAT:
            raise ValueError("another index format")
        chunks = tuple(Chunk(None if f is None else tuple(f), int(o), int(n), int(r)) for f, o, n, r in data["chunks"])
        index = cls(str(data["query"]), int(data["header"]), chunks)
        offset = index.header
        for c in chunks:  # contiguous, in order
            if c.offset != offset or c.length < 0 or c.rows < 0:
                raise ValueError("chunks do not tile the file")
            offset += c.length
        return index


def index_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.index.json")


def read_index(path: Path, query: CsvQuery) -> Index | None:
    """The index beside `path`, when it describes `path` as `query` writes it; else None (then
    the file is written whole)."""
    try:
        index = Index.from_json(index_path(path).read_text(encoding="utf-8"))
        size = path.stat().st_size
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if index.query != query.fingerprint() or index.size != size:
        return None
    return index


# --- which chunks a change touches (pure) --------------------------------------------------------


def touched_chunks(firsts: list[tuple | None], changed: Iterable[tuple]) -> set[int] | None:
    """The chunks (by position) whose key range holds a row whose key starts with one of the
    `changed` tuples (a whole key, or a prefix of it: an article id for rows keyed by article and
    offset). None when that cannot be told (keys the index does not hold, or of other types)."""
    if not firsts:
        return set()
    if any(f is None for f in firsts):
        return None
    touched: set[int] = set()
    try:
        for prefix in changed:
            prefix = tuple(prefix)
            width = len(prefix)
            # The last chunk starting below the lowest key with this prefix, up to the last one
            # starting with the prefix (or below it).
            low = bisect.bisect_right(firsts, prefix) - 1
            high = bisect.bisect_right(firsts, prefix, key=lambda f: f[:width]) - 1
            touched.update(range(max(low, 0), max(high, 0) + 1))
    except TypeError:  # a NULL, or a key of another type than the index's
        return None
    return touched


def runs(positions: set[int]) -> list[tuple[int, int]]:
    """Consecutive positions as (first, last) runs, in order: {1, 2, 5} -> [(1, 2), (5, 5)]."""
    out: list[tuple[int, int]] = []
    for p in sorted(positions):
        if out and out[-1][1] == p - 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def rows_per_chunk(index: Index) -> int:
    """Rows a rewritten chunk gets: CHUNK_BYTES at the index's bytes per row."""
    rows = sum(c.rows for c in index.chunks)
    data = index.size - index.header
    return max(1, int(CHUNK_BYTES * rows / data)) if rows and data else 1


# --- writing -------------------------------------------------------------------------------------


def _compare(key: tuple[str, ...], op: str) -> str:
    """SQL comparing the row `key` with as many ? in order (op '>=' or '<'): (k0, k1) >= (?, ?) as
    k0 > ? OR (k0 = ? AND k1 >= ?). (DuckDB turns two row comparisons into a BETWEEN it refuses.)"""
    head, strict = key[0], op[0]
    if len(key) == 1:
        return f"{head} {op} ?"
    return f"({head} {strict} ? OR ({head} = ? AND {_compare(key[1:], op)}))"


def _bounds(key: tuple[str, ...], low: tuple | None, high: tuple | None) -> tuple[str, list]:
    """SQL (and its parameters) for low <= key < high in DuckDB's order; the first column's own
    bounds too, which DuckDB prunes files and row groups on."""
    terms, params = [], []
    for bound, op, outer in ((low, ">=", ">="), (high, "<", "<=")):
        if bound is None:
            continue
        terms.append(_compare(key, op))
        params += [v for v in bound[:-1] for _ in (0, 1)] + [bound[-1]]
        if len(key) > 1:
            terms.append(f"{key[0]} {outer} ?")
            params.append(bound[0])
    return (" AND ".join(terms) or "TRUE"), params


def _storable(key: tuple) -> bool:
    return all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in key)


def _write_range(con: duckdb.DuckDBPyConnection, query: CsvQuery, low: tuple | None, high: tuple | None, folder: Path,
                 rows: int | None = None, guess: int | None = None, header: bool = False) -> list[tuple[tuple | None, Path, int]]:
    """Write the rows with low <= key < high (None: unbounded) as CSV files (each with the header
    line when `header`), a COPY per file, into `folder`; returns (first key, file, rows) per file, in key order. Files of
    `rows` rows each; by default of about CHUNK_BYTES: the first of `guess` rows, each next one sized
    by the bytes per row of the one before (cut at multiples of UNIT_ROWS, so no pass measures the rows
    beforehand); `guess` defaults to FIRST_CHUNK_ROWS. Keys the index cannot hold (NULL, or neither text nor integer): one file, its
    first key None."""
    where, params = _bounds(query.key, low, high)
    nulls = " OR ".join(f"{k} IS NULL" for k in query.key)
    total, null_keys = con.execute(f"SELECT count(*), count(*) FILTER ({nulls}) FROM {query.source} WHERE {where}", params).fetchone()
    if not total:
        return []
    unit = rows or UNIT_ROWS
    aliased = ", ".join(f"{k} AS k{i}" for i, k in enumerate(query.key))
    keys = [tuple(r) for r in con.execute(  # the key of every unit-th row: where a file may start
        f"SELECT * EXCLUDE (n) FROM (SELECT {aliased}, row_number() OVER (ORDER BY {', '.join(query.key)}) - 1 AS n "
        f"FROM {query.source} WHERE {where}) WHERE n % {int(unit)} = 0 ORDER BY n", params).fetchall()] if not null_keys else []
    if null_keys or not all(_storable(k) for k in keys):
        return [(None, _copy(con, query, where, params, folder, header), total)]
    written: list[tuple[tuple, Path, int]] = []
    start, step = 0, 1 if rows else max(1, round((guess or FIRST_CHUNK_ROWS) / unit))
    while start < len(keys):
        end = start + step
        if not rows and len(keys) - end < step / 2:  # no small last file: this one takes the rest
            end = len(keys)
        where, params = _bounds(query.key, low if start == 0 else keys[start], keys[end] if end < len(keys) else high)
        target = _copy(con, query, where, params, folder, header)
        n = (end - start) * unit if end < len(keys) else total - start * unit
        written.append((keys[start], target, n))
        size = target.stat().st_size
        if not rows and size:  # the next one at this one's bytes per row
            step = max(1, round(CHUNK_BYTES * n / size / unit))
        start = end
    return written


def _copy(con: duckdb.DuckDBPyConnection, query: CsvQuery, where: str, params: list, folder: Path, header: bool = False) -> Path:
    target = folder / f"{len(os.listdir(folder)):06d}.csv"
    con.execute(f"COPY (SELECT {query.select} FROM {query.source} WHERE {where} ORDER BY {', '.join(query.key)}) "
                f"TO {sql.literal(target)} (HEADER {str(header).lower()}, {query.options})", params)
    return target


def _copy_range(source, target, offset: int, length: int) -> None:
    """Append `length` bytes of `source` from `offset` to `target` (unbuffered open files), in the
    kernel where it can (no read into this process)."""
    end = offset + length
    while offset < end:
        try:
            n = os.copy_file_range(source.fileno(), target.fileno(), end - offset, offset)
        except OSError:  # not between these files (an old kernel, another filesystem): read and write
            n = 0
        if n == 0:
            data = os.pread(source.fileno(), min(end - offset, 1 << 20), offset)
            if not data:
                raise OSError(f"{source.name} ends before byte {end}")
            n = os.write(target.fileno(), data)
        offset += n


@dataclass(frozen=True)
class Written:
    path: Path
    spliced: bool  # False: written whole
    chunks: int  # chunks in the file
    rewritten: int  # chunks written by a COPY this time
    # Per chunk of the file, in order: the position of the previous file's chunk its bytes were
    # copied from (the same rows), or None when it was written by a COPY this time.
    reused: tuple[int | None, ...] = ()
    index: Index | None = None  # the index written beside the file


def write_csv(con: duckdb.DuckDBPyConnection, query: CsvQuery, path: Path, *, previous: Path | None = None,
              changed: Iterable[tuple] | None = None, chunk_rows: int | None = None) -> Written:
    """Write `path` (a new file: never one that is published) and its index: byte for byte
    `query.whole_sql()`. With `previous` (the same query's file of an earlier state, with its index)
    and `changed` (the keys, or key prefixes, of every row inserted or deleted since), only the
    chunks holding a changed key are written again. `chunk_rows`: rows per chunk when the file is
    written whole (else about CHUNK_BYTES a chunk)."""
    index = read_index(previous, query) if previous is not None and changed is not None else None
    touched = _touched(index, changed)
    with _scratch(path) as folder:
        if touched is not None and index.chunks:
            return _splice(con, query, path, previous, index, touched, folder)
        return _whole(con, query, path, folder, chunk_rows)


def _touched(index: Index | None, changed: Iterable[tuple] | None) -> set[int] | None:
    """The chunks of `index` that the `changed` keys fall in (touched_chunks); None when there is
    no index, more than MAX_CHANGED_KEYS keys, or keys the index cannot place."""
    if index is None or changed is None:
        return None
    changed = list(changed)
    return touched_chunks([c.first for c in index.chunks], changed) if len(changed) <= MAX_CHANGED_KEYS else None


@contextlib.contextmanager
def _scratch(path: Path):
    """A new, empty folder beside `path` for the pieces a write COPYs; removed afterwards."""
    folder = path.with_name(f".{path.name}.chunks")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _header(con: duckdb.DuckDBPyConnection, query: CsvQuery, folder: Path) -> Path:
    target = folder / "header.csv"
    con.execute(f"COPY (SELECT {query.select} FROM {query.source} LIMIT 0) TO {sql.literal(target)} (HEADER, {query.options})")
    return target


def _whole(con, query: CsvQuery, path: Path, folder: Path, chunk_rows: int | None) -> Written:
    header = _header(con, query, folder)
    pieces = _write_range(con, query, None, None, folder, rows=chunk_rows)
    index = _assemble(path, query, header, [("new", p) for p in pieces], None)
    return Written(path, False, len(pieces), len(pieces), (None,) * len(pieces), index)


def _plan(con, query: CsvQuery, index: Index, touched: set[int], folder: Path,
          header: bool = False) -> tuple[list[tuple], list[int | None]]:
    """What a spliced file is made of, in order: ("new", (first key, file, rows)) for a piece
    written again (the touched chunks' key ranges, a COPY each, into `folder`) or ("old", positions)
    for a run of the previous file's chunks taken over; and, per chunk of the result, the position
    of the previous chunk it is (None: written again)."""
    chunks = index.chunks
    per_chunk = rows_per_chunk(index)
    plan: list[tuple] = []
    reused: list[int | None] = []
    position = 0
    for first, last in runs(touched):
        if position < first:
            plan.append(("old", range(position, first)))
            reused += range(position, first)
        low = chunks[first].first if first > 0 else None
        high = chunks[last + 1].first if last + 1 < len(chunks) else None
        pieces = _write_range(con, query, low, high, folder, guess=per_chunk, header=header)
        plan += [("new", p) for p in pieces]
        reused += [None] * len(pieces)
        position = last + 1
    if position < len(chunks):
        plan.append(("old", range(position, len(chunks))))
        reused += range(position, len(chunks))
    return plan, reused


def _splice(con, query: CsvQuery, path: Path, previous: Path, index: Index, touched: set[int], folder: Path) -> Written:
    plan, reused = _plan(con, query, index, touched, folder)
    written = _assemble(path, query, None, plan, (previous, index))
    return Written(path, True, len(reused), reused.count(None), tuple(reused), written)


def _assemble(path: Path, query: CsvQuery, header: Path | None, plan: list[tuple], previous: tuple[Path, Index] | None) -> Index:
    """Write `path` from the header and the plan's pieces, in order (`_plan`), then its index."""
    chunks: list[Chunk] = []
    with open(path, "wb", buffering=0) as out, (open(previous[0], "rb", buffering=0) if previous else contextlib.nullcontext()) as old:
        if header is not None:
            with open(header, "rb", buffering=0) as f:
                _copy_range(f, out, 0, os.fstat(f.fileno()).st_size)
            header_length = out.tell()
        else:
            header_length = previous[1].header
            _copy_range(old, out, 0, header_length)
        offset = header_length
        for kind, piece in plan:
            if kind == "new":
                first, file, rows = piece
                with open(file, "rb", buffering=0) as f:
                    length = os.fstat(f.fileno()).st_size
                    _copy_range(f, out, 0, length)
                chunks.append(Chunk(first, offset, length, rows))
                offset += length
            else:
                taken = previous[1].chunks[piece.start:piece.stop]
                start = taken[0].offset
                length = sum(c.length for c in taken)
                _copy_range(old, out, start, length)
                chunks += [Chunk(c.first, offset + c.offset - start, c.length, c.rows) for c in taken]
                offset += length
    index = Index(query.fingerprint(), header_length, tuple(chunks))
    index_path(path).write_text(index.to_json(), encoding="utf-8")
    return index


# --- CSV as a folder of parts ---------------------------------------------------------------------

PART_CSV = "part-{:05d}.csv"


def part_paths(folder: Path) -> list[Path]:
    """The parts of a CSV folder, in order (read in this order, they are the table in key order)."""
    return sorted(folder.glob("part-*.csv"))


def read_parts_index(folder: Path, query: CsvQuery) -> Index | None:
    """The index beside a CSV folder, when it describes the folder as `query` writes it (part i
    holds the header line and chunk i's bytes); else None (then the folder is written whole)."""
    try:
        index = Index.from_json(index_path(folder).read_text(encoding="utf-8"))
        sizes = [p.stat().st_size for p in part_paths(folder)]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if index.query != query.fingerprint() or sizes != [index.header + c.length for c in index.chunks]:
        return None
    return index


def write_csv_parts(con: duckdb.DuckDBPyConnection, query: CsvQuery, folder: Path, *, previous: Path | None = None,
                    changed: Iterable[tuple] | None = None, chunk_rows: int | None = None) -> Written:
    """Write `folder` (new) as CSV parts, PART_CSV.format(i) for chunk i, each with the header line:
    read in order, without the repeated headers, they are byte for byte `query.whole_sql()`. With
    `previous` (the same query's folder of an earlier state, with its index) and `changed` (as for
    `write_csv`), only the chunks holding a changed key are written; every other part is the
    previous folder's, hard-linked: no byte of it is read or written. The index beside the folder
    has write_csv's form (offsets as in the one file the parts make). `chunk_rows`: as for write_csv."""
    index = read_parts_index(previous, query) if previous is not None and changed is not None else None
    touched = _touched(index, changed)
    spliced = touched is not None and bool(index.chunks)
    folder.mkdir(parents=True)
    with _scratch(folder) as scratch:
        if spliced:
            plan, reused = _plan(con, query, index, touched, scratch, header=True)
            header_length = index.header
        else:
            plan = [("new", p) for p in _write_range(con, query, None, None, scratch, rows=chunk_rows, header=True)]
            reused = [None] * len(plan)
            header_length = _header(con, query, scratch).stat().st_size
        chunks: list[Chunk] = []
        offset = header_length
        for kind, piece in plan:
            taken = [(None, piece)] if kind == "new" else [(p, index.chunks[p]) for p in piece]
            for position, item in taken:
                target = folder / PART_CSV.format(len(chunks))
                if position is None:
                    first, file, rows = item
                    os.replace(file, target)
                    chunk = Chunk(first, offset, target.stat().st_size - header_length, rows)
                else:
                    link_or_copy(previous / PART_CSV.format(position), target)
                    chunk = Chunk(item.first, offset, item.length, item.rows)
                chunks.append(chunk)
                offset += chunk.length
        if not chunks:  # an empty table: one part, its header
            os.replace(_header(con, query, scratch), folder / PART_CSV.format(0))
    written = Index(query.fingerprint(), header_length, tuple(chunks))
    index_path(folder).write_text(written.to_json(), encoding="utf-8")
    return Written(folder, spliced, len(chunks), reused.count(None), tuple(reused), written)


# --- Parquet, one file per chunk ------------------------------------------------------------------

PART = "part-{:05d}.parquet"


def write_parquet_parts(con: duckdb.DuckDBPyConnection, source: str, key: tuple[str, ...], written: Written,
                        folder: Path, previous: Path | None = None, columns: int = 1) -> int:
    """Write `source`'s rows (raw values) as a folder of Parquet files, one per chunk of the CSV
    just written for the same rows (`written`, with its index): PART.format(i) holds chunk i's key range,
    sorted by `key`, in row groups of about tables.PARQUET_GROUP_BYTES (sized from the chunk's CSV
    bytes). Parquet cannot be spliced byte-wise, so a chunk the CSV took over unchanged from the
    previous file has its part hard-linked from the `previous` folder instead (when there); the
    others are written by a COPY each. A part is the same file whichever way it comes. Returns
    how many parts were written."""
    from factledger.tables import group_rows

    index = written.index
    folder.mkdir(parents=True)
    chunks = index.chunks or (Chunk(None, index.header, 0, 0),)  # an empty table: one empty part
    reused = written.reused if len(written.reused) == len(index.chunks) else (None,) * len(chunks)
    copied = 0
    for i, chunk in enumerate(chunks):
        target = folder / PART.format(i)
        earlier = previous / PART.format(reused[i]) if previous is not None and reused[i] is not None else None
        if earlier is not None and earlier.is_file():
            link_or_copy(earlier, target)
            continue
        low = chunk.first if i > 0 else None
        high = chunks[i + 1].first if i + 1 < len(chunks) else None
        where, params = _bounds(key, low, high) if chunk.first is not None or len(chunks) == 1 else ("TRUE", [])
        rows = group_rows(chunk.rows, chunk.length, columns)
        con.execute(f"COPY (SELECT * FROM {source} WHERE {where} ORDER BY {', '.join(key)}) TO {sql.literal(target)} "
                    f"(FORMAT parquet, ROW_GROUP_SIZE {rows})", params)
        copied += 1
    return copied


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link an unchanged file from an earlier export (files are never edited in place),
    copying where links fail (another filesystem)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def replace(source: Path, target: Path) -> None:
    """Move a written file and its index over `target` (the index first: a reader of `target` that
    finds an index that does not fit its size writes whole)."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(index_path(source), index_path(target))
    os.replace(source, target)
