"""Parse an article file: optional YAML front matter, then the body exactly as written."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import yaml

from factledger.rejections import Rejection

ARTICLE_SUFFIXES = (".md", ".txt")
FRONT_MATTER_FIELDS = ("outlet", "url", "published", "title", "cites")
FENCE = "---"


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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def article_id_for(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0]


def parse_article(raw: bytes, rel_path: str) -> ParsedArticle | Rejection:
    """Parse one article file's bytes; return a Rejection naming the line when it is unusable."""

    def reject(reason: str, line: int | None = None) -> Rejection:
        return Rejection("articles", rel_path, line, reason)

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
        parsed = _parse_front_matter("".join(lines[1:closing]))
        if isinstance(parsed, tuple):
            reason, offset = parsed
            return reject(reason, None if offset is None else 2 + offset)
        meta = parsed
        body_start = sum(len(ln) for ln in lines[: closing + 1])
    body = text[body_start:]
    if not body.strip():
        return reject("no article text after the front matter")

    unknown = sorted(set(meta) - set(FRONT_MATTER_FIELDS))
    if unknown:
        return reject(f"unknown front-matter field(s) {', '.join(unknown)}; known: {', '.join(FRONT_MATTER_FIELDS)}", 1)
    published = meta.get("published")
    if published is not None and not isinstance(published, dt.date):
        try:
            published = dt.date.fromisoformat(str(published))
        except ValueError:
            return reject(f"published {published!r} is not a date (YYYY-MM-DD)", _field_line(lines, "published"))
    if isinstance(published, dt.datetime):
        published = published.date()
    cites = meta.get("cites")
    if isinstance(cites, str):
        cites = [cites]
    if cites is not None and not (isinstance(cites, list) and all(isinstance(c, str) for c in cites)):
        return reject("cites must be a source id or a list of source ids", _field_line(lines, "cites"))

    def text_field(name: str) -> str | None:
        value = meta.get(name)
        return None if value is None else str(value).strip() or None

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
        body_sha256=sha256_hex(body.strip().encode("utf-8")),
        n_bytes=len(raw),
    )


def _parse_front_matter(block: str) -> dict | tuple[str, int | None]:
    try:
        meta = yaml.safe_load(block)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        return f"front matter is not valid YAML: {err.problem or err}", (mark.line if mark else None)
    except (yaml.YAMLError, ValueError) as err:
        return f"front matter is not valid YAML: {err}", None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        return "front matter must be a mapping of field: value", 0
    return {str(k): v for k, v in meta.items()}


def _field_line(lines: list[str], field: str) -> int | None:
    return next((i + 1 for i, ln in enumerate(lines) if ln.startswith(f"{field}:")), None)
