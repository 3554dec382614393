"""Parse an article file: optional YAML front matter, then the body exactly as written.

Hostile files are refused with a reason, never allowed to crash or stall a run: the file, the front
matter and the count of numbers have limits, YAML aliases are refused (an alias bomb expands to
gigabytes when its value is printed), and every text field must be a plain string.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from factledger.rejections import Rejection

ARTICLE_SUFFIXES = (".md", ".txt")
FRONT_MATTER_FIELDS = ("outlet", "url", "published", "title", "cites")
TEXT_FIELDS = ("outlet", "url", "title")
FENCE = "---"

# Limits: far above any real article (the corpus' largest is ~6 KB with ~40 numbers), far below
# what makes a run slow. An article over a limit is refused whole, with the limit in the reason.
MAX_ARTICLE_BYTES = 2_000_000
MAX_FRONT_MATTER_BYTES = 16_384
MAX_FIELD_CHARS = 2_000
MAX_NUMBERS = 2_000
MAX_REASON_CHARS = 120
_NUMBER_RUN = re.compile(r"\d+")
_ASCII_NON_DIGITS = bytes(b for b in range(128) if not 0x30 <= b <= 0x39)


def most_digit_runs(data: bytes) -> int:
    """An upper bound on the runs of `\\d` (`_NUMBER_RUN`) in any text decoded from the UTF-8 `data`:
    its ASCII digits plus its non-ASCII bytes. A run holds at least one `\\d` character, and one is
    an ASCII digit or a non-ASCII character (a Unicode digit: one or more non-ASCII bytes). Counting
    bytes is ~20x cheaper than running the pattern, which is needed only above the limit."""
    return len(data.translate(None, _ASCII_NON_DIGITS))


@dataclass(frozen=True)
class ParsedArticle:
    article_id: str
    source_path: str
    outlet: str | None
    url: str | None
    published: dt.date | None
    title: str | None
    cites: str | None
    body: str
    body_start: int
    sha256: str
    body_sha256: str
    n_bytes: int


def read_limited(path: str | Path) -> bytes | str:
    """The file's bytes, or why not (too big: never read whole). Reads one byte more than the size
    the file has, so that its end is seen (a read of the limit would allocate the limit for every
    file), and on up to the limit if it grew meanwhile; `os.read`, without a buffered file object
    (7 against 11 us a file)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        return f"unreadable: {err.strerror or err}"
    try:
        data = b""
        target = min(os.fstat(fd).st_size, MAX_ARTICLE_BYTES) + 1
        while more := os.read(fd, target - len(data)):
            data += more
            if len(data) == target:
                if target > MAX_ARTICLE_BYTES:
                    break
                target = MAX_ARTICLE_BYTES + 1  # it grew since its size was taken: read on up to the limit
    except OSError as err:
        return f"unreadable: {err.strerror or err}"
    finally:
        os.close(fd)
    if len(data) > MAX_ARTICLE_BYTES:
        return f"file is over {MAX_ARTICLE_BYTES:,} bytes, the limit for an article; not read"
    return data


def read_and_parse(path: str | Path, rel_path: str) -> ParsedArticle | Rejection:
    data = read_limited(path)
    return Rejection("articles", rel_path, None, data) if isinstance(data, str) else parse_article(data, rel_path)


STAGED_COLUMNS = tuple(f.name for f in dataclasses.fields(ParsedArticle))
INCOMING_COLUMNS = ("article_id", "source_path", "body_sha256")


@dataclass
class Staged:
    """What `stage_articles` wrote: Parquet files with their row counts, in order; the rows'
    INCOMING_COLUMNS as lists; the files refused, in order."""
    staged: list[tuple[Path, int]]
    incoming: dict[str, list[str]]
    rejections: list[Rejection]


def stage_articles(files: list[tuple[str, str]], prefix: Path, schema: pa.Schema, max_bytes: int, max_files: int,
                   advance: Callable[[], None] | None = None) -> Staged:
    """Read and parse each (path relative to raw, file), writing the parsed rows (STAGED_COLUMNS,
    typed by `schema`) to Parquet files `<prefix>.<n>.parquet`, one per batch of up to `max_bytes` of
    files or `max_files` files: texts are never all held. `advance` is called after each file."""
    out = Staged([], {c: [] for c in INCOMING_COLUMNS}, [])
    batch: list[ParsedArticle] = []
    size = 0

    def flush() -> None:
        nonlocal batch, size
        if batch:
            file = prefix.with_name(f"{prefix.name}.{len(out.staged)}.parquet")
            columns = {name: [getattr(a, name) for a in batch] for name in STAGED_COLUMNS}
            pq.write_table(pa.table(columns, schema=schema), file, compression="none")
            out.staged.append((file, len(batch)))
        batch, size = [], 0

    for rel, path in files:
        outcome = read_and_parse(path, rel)
        if isinstance(outcome, Rejection):
            out.rejections.append(outcome)
        else:
            for column in INCOMING_COLUMNS:
                out.incoming[column].append(getattr(outcome, column))
            batch.append(outcome)
            size += outcome.n_bytes
            if size >= max_bytes or len(batch) >= max_files:
                flush()
        if advance is not None:
            advance()
    flush()
    return out


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def article_id_for(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0]


def body_hash(body: str) -> str:
    """SHA-256 of the body with every run of whitespace folded to one space (and none at either
    end): a copy with trailing spaces or re-wrapped lines is the same text."""
    return sha256_hex(" ".join(body.split()).encode("utf-8"))


def quoted(value, limit: int = MAX_REASON_CHARS) -> str:
    """A value from a file, safe to put in a rejection reason: repr-escaped (no newlines or control
    characters) and capped."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_article(raw: bytes, rel_path: str) -> ParsedArticle | Rejection:
    """Parse one article file's bytes; return a Rejection naming the line when it is unusable."""

    def reject(reason: str, line: int | None = None) -> Rejection:
        return Rejection("articles", rel_path, line, reason)

    if len(raw) > MAX_ARTICLE_BYTES:
        return reject(f"file is {len(raw):,} bytes; articles are limited to {MAX_ARTICLE_BYTES:,}")
    if not raw.strip():
        return reject("empty file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        return reject(f"not UTF-8: byte 0x{raw[err.start]:02x} at byte offset {err.start} cannot be decoded", line)
    text = text.removeprefix("\ufeff")

    meta, body_start = {}, 0
    lines = text.splitlines(keepends=True)
    if lines and lines[0].rstrip("\r\n") == FENCE:
        closing = next((i for i, ln in enumerate(lines[1:], start=1) if ln.rstrip("\r\n") == FENCE), None)
        if closing is None:
            return reject("front matter opened with '---' is never closed by a '---' line", 1)
        block = "".join(lines[1:closing])
        if len(block.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
            return reject(f"front matter is {len(block.encode('utf-8')):,} bytes; it is limited to {MAX_FRONT_MATTER_BYTES:,}", 1)
        parsed = _parse_front_matter(block)
        if isinstance(parsed, tuple):
            reason, offset = parsed
            return reject(reason, None if offset is None else 2 + offset)
        meta = parsed
        body_start = sum(len(ln) for ln in lines[: closing + 1])
    body = text[body_start:]
    if not body.strip():
        return reject("no article text after the front matter")

    if most_digit_runs(raw) > MAX_NUMBERS:  # only then can the body be over the limit: count exactly
        numbers = sum(1 for _ in _NUMBER_RUN.finditer(body))
        if numbers > MAX_NUMBERS:
            return reject(f"article has {numbers:,} numbers; articles are limited to {MAX_NUMBERS:,}")

    unknown = sorted(set(meta) - set(FRONT_MATTER_FIELDS))
    if unknown:
        return reject(f"unknown front-matter field(s) {', '.join(quoted(u, 40) for u in unknown[:5])}; "
                      f"known: {', '.join(FRONT_MATTER_FIELDS)}", 1)
    for name in TEXT_FIELDS:
        value = meta.get(name)
        if value is not None and not isinstance(value, str):
            return reject(f"{name} must be text, not {_yaml_kind(value)} (put it in quotes)", _field_line(lines, name))
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return reject(f"{name} is {len(value):,} characters; front-matter fields are limited to {MAX_FIELD_CHARS:,}",
                          _field_line(lines, name))
    published = meta.get("published")
    if published is not None and not isinstance(published, dt.date):
        try:
            published = dt.date.fromisoformat(str(published))
        except ValueError:
            return reject(f"published {quoted(published, 60)} is not a date (YYYY-MM-DD)", _field_line(lines, "published"))
    if isinstance(published, dt.datetime):
        published = published.date()
    if published is not None and published > today():
        return reject(f"published {published.isoformat()} is in the future (no article can be dated after {today().isoformat()})",
                      _field_line(lines, "published"))
    cites = meta.get("cites")
    if isinstance(cites, str):
        cites = [cites]
    if cites is not None and not (isinstance(cites, list) and all(isinstance(c, str) for c in cites)):
        return reject("cites must be a source id or a list of source ids", _field_line(lines, "cites"))

    def text_field(name: str) -> str | None:
        value = meta.get(name)
        return None if value is None else value.strip() or None

    return ParsedArticle(
        article_id=article_id_for(rel_path),
        source_path=rel_path,
        outlet=text_field("outlet"),
        url=text_field("url"),
        published=published,
        title=text_field("title"),
        cites=", ".join(cites) if cites else None,
        body=body,
        body_start=body_start,
        sha256=sha256_hex(raw),
        body_sha256=body_hash(body),
        n_bytes=len(raw),
    )


def today() -> dt.date:
    """The latest date an article can carry: today in the easternmost time zone (UTC+14), so no
    article published today anywhere is refused."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()


def _yaml_kind(value) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bool) or value is None:
        return f"the YAML constant {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {quoted(value, 40)}"
    return f"{type(value).__name__} {quoted(value, 40)}"


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases: front matter is a few plain fields, and an alias
    bomb (a few hundred bytes) expands to gigabytes wherever its value is printed."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(None, None, "YAML anchors and aliases (&name, *name) are not allowed in front matter",
                                       event.start_mark)
        return super().compose_node(parent, index)


# libyaml's loader (PyYAML's C parser with the same SafeConstructor and resolver) is ~7x faster than
# the pure-Python one. It is used only where it cannot answer otherwise than `_NoAliasLoader`:
# - a block without `&` and `*` has no anchor or alias to refuse; one without `!`, `%`, tabs, a
#   byte-order mark, the other line breaks (NEL, LS, PS) and what the pure reader refuses as
#   non-printable has no tag, directive or character on which the two scanners could differ;
# - any error of the C loader is dropped and the block parsed again by the pure one, so every
#   refusal (its words, its line) is the pure loader's;
# - a result nested deeper than FAST_YAML_MAX_DEPTH is parsed again too: the pure loader recurses
#   per level and may refuse what libyaml accepts ("it nests too deeply").
# tests/foundation/test_front_matter.py compares the two on generated and real front matter.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
_PURE_ONLY = re.compile("[&*!%\t\ufeff\x85\u2028\u2029]|" + yaml.reader.Reader.NON_PRINTABLE.pattern)
FAST_YAML_MAX_DEPTH = 8


def fast_yaml_allowed(block: str) -> bool:
    """Whether `block` may be parsed with libyaml's loader (see above)."""
    return _FAST_LOADER is not None and _PURE_ONLY.search(block) is None


def _depth(value, limit: int) -> int:
    """How deep lists and mappings nest in `value` (a scalar: 0), counted up to `limit` + 1."""
    if limit < 0 or not isinstance(value, (list, dict)):
        return 0
    items = value.values() if isinstance(value, dict) else value
    keys = value.keys() if isinstance(value, dict) else ()
    return 1 + max((_depth(v, limit - 1) for v in (*keys, *items)), default=0)


def _load_yaml(block: str, fast: bool = True):
    """The block's YAML value, as `_NoAliasLoader` loads it (raising what it raises)."""
    if fast and fast_yaml_allowed(block):
        try:
            meta = yaml.load(block, Loader=_FAST_LOADER)  # noqa: S506 - CSafeLoader: SafeConstructor
        except Exception:  # noqa: BLE001, S110 - the pure loader says why, in its own words
            pass
        else:
            if _depth(meta, FAST_YAML_MAX_DEPTH) <= FAST_YAML_MAX_DEPTH:
                return meta
    return yaml.load(block, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def _parse_front_matter(block: str, fast: bool = True) -> dict | tuple[str, int | None]:
    try:
        meta = _load_yaml(block, fast)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        return f"front matter is not valid YAML: {quoted(err.problem or str(err), 200)[1:-1]}", (mark.line if mark else None)
    except RecursionError:
        return "front matter is not valid YAML: it nests too deeply", None
    except (yaml.YAMLError, ValueError) as err:
        return f"front matter is not valid YAML: {quoted(str(err) or type(err).__name__, 200)[1:-1]}", None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        return "front matter must be a mapping of field: value", 0
    return {str(k): v for k, v in meta.items()}


def _field_line(lines: list[str], field: str) -> int | None:
    return next((i + 1 for i, ln in enumerate(lines) if ln.startswith(f"{field}:")), None)


def field_line(path, field: str) -> int | None:
    """The 1-based line of front-matter field `field` in the article file at `path`; None when
    the file or the field cannot be found (a report helper: never raises)."""
    try:
        with open(path, "rb") as f:
            head = f.read(MAX_FRONT_MATTER_BYTES + 4096).decode("utf-8", errors="replace")
    except OSError:
        return None
    return _field_line(head.splitlines(), field)
