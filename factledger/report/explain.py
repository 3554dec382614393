"""Plain-language wording: how a verdict is shown (label, marker, colour, rating) and the sentence
a reader of a fact-check would write for each claim. The words live in verdicts.yaml (data); this
module only picks a template and fills it from generic columns (measure, dims, values)."""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

VERDICTS_FILE = Path(__file__).with_name("verdicts.yaml")


@dataclass(frozen=True)
class VerdictStyle:
    verdict: str
    label: str
    marker: str
    colour: str
    rating: int | None
    templates: dict[str, str]

    @functools.cached_property  # asked for by every claim on every page
    def css_class(self) -> str:
        return "v-" + "".join(c if c.isalnum() else "-" for c in self.verdict.lower())


@functools.cache
def wording(path: Path = VERDICTS_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def style(verdict: str | None, words: dict | None = None) -> VerdictStyle:
    """How `verdict` is shown (one object per verdict and wording: every claim asks)."""
    return _style(_token(words or wording()), verdict or "unknown")


@functools.lru_cache(maxsize=1024)
def _style(token: int, verdict: str) -> VerdictStyle:
    words = _WORDINGS[token]
    entry = words["verdicts"].get(verdict)
    if entry is None:
        entry = {k: (v.format(verdict=verdict.replace("_", " ")) if isinstance(v, str) else v)
                 for k, v in words["unknown_verdict"].items()}
    return VerdictStyle(verdict, entry["label"], entry["marker"], entry["colour"], entry.get("rating"),
                        dict(entry.get("explain") or {}))


def known_verdicts(words: dict | None = None) -> list[str]:
    return list((words or wording())["verdicts"])


def humanise(name: str | None) -> str:
    """`noncitizens_on_docket` -> `noncitizens on docket`; `non_detained` -> `non-detained`."""
    if not name:
        return ""
    return re.sub(r"\bnon ", "non-", str(name).replace("_", " ").strip())


def number(value, unit: str | None = None) -> str:
    """12,345 for whole numbers, 1,234.5 otherwise; a sign only when negative; the unit after."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    v = float(value)
    text = f"{v:,.0f}" if v == round(v) else f"{v:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}" if unit else text


def parse_dims(dims: str | None) -> list[tuple[str, str]]:
    """`a=x, b=y` -> [(a, x), (b, y)]; anything else -> [('', text)]."""
    if not dims or not str(dims).strip():
        return []
    pairs = []
    for part in str(dims).split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        pairs.append((key.strip(), value.strip()) if sep else ("", part))
    return pairs


def dims_text(dims: str | None, words: dict | None = None) -> str:
    totals = {t.lower() for t in (words or wording()).get("total_values", [])}
    values = [humanise(v) for _, v in parse_dims(dims) if v.lower() not in totals]
    return ", ".join(values)


def cell_text(figure: dict | None, words: dict | None = None) -> str:
    """What a figure counts, in words: its measure, its non-total dimension values, its period."""
    if not figure:
        return ""
    words = words or wording()
    return _cell_text(_token(words), figure.get("measure"), figure.get("dims"), figure.get("figure_id"),
                      figure.get("period_start"), figure.get("period_end"))


# The wordings cell texts were cached for, by id (kept here, so an id is never another dict's).
_WORDINGS: dict[int, dict] = {}


def _token(words: dict) -> int:
    if _WORDINGS.get(id(words)) is not words:
        _WORDINGS[id(words)] = words
    return id(words)


@functools.lru_cache(maxsize=65536)  # a corpus cites few cells, each by many claims
def _cell_text(token: int, measure, dims, figure_id, start, end) -> str:
    words = _WORDINGS[token]
    text = humanise(measure)
    if dims is None and figure_id and measure:
        # A lake without a dims column: the figure id's tail after the measure names the cell.
        tail = str(figure_id).split(f":{measure}:", 1)
        dims = tail[1].replace("/", ", ") if len(tail) == 2 and ".." not in tail[1] else None
    detail = dims_text(dims, words)
    if detail:
        text = f"{text} ({detail})"
    elif parse_dims(dims):  # every dimension at its total
        text = f"{text} ({words.get('whole_cell', 'in total')})"
    if start and end:
        text += f", {start} to {end}"
    elif end or start:
        text += f", {end or start}"
    return text


def document_noun(source: dict | None, words: dict | None = None) -> str:
    """'the letter' when the source's title starts with a document kind, else 'the source'."""
    words = words or wording()
    title = (source or {}).get("title") or ""
    first = title.split(maxsplit=1)[0].lower().strip(".,:;") if title.strip() else ""
    return f"the {first}" if first in set(words.get("document_kinds", [])) else "the source"


class _Blank(dict):
    def __missing__(self, key):
        return ""


def _fill(template: str, fields: dict) -> str:
    text = template.format_map(_Blank(fields))  # a placeholder without a field reads as nothing
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def explain_claim(claim: dict, figure: dict | None, source: dict | None,
                  right_figure: dict | None = None, words: dict | None = None) -> str:
    """The sentence for one claim. `figure`: the figure it was matched to; `right_figure`: the
    source's figure for what the article says the number counts (wrong scope), when known."""
    words = words or wording()
    s = style(claim.get("verdict"), words)
    unit = (figure or {}).get("unit") or None
    claim_cell = None
    if claim.get("dims") is not None and claim.get("measure"):
        claim_cell = cell_text({"measure": claim.get("measure"), "dims": claim.get("dims")}, words)
    fields = {
        "phrase": claim.get("phrase") or "",
        "value": number(claim.get("value")),
        "figure": number((figure or {}).get("value", claim.get("figure_value")), unit),
        "cell": cell_text(figure, words) or humanise(claim.get("measure")) or "that",
        "claim_cell": claim_cell or "",
        "right_figure": number(right_figure["value"], right_figure.get("unit") or None) if right_figure else "",
        "doc": document_noun(source, words),
        "measure": humanise(claim.get("measure")) or "other things",
        "kind": words.get("kinds", {}).get(claim.get("kind") or "", ""),
        "verdict": humanise(claim.get("verdict")),
    }
    templates = s.templates
    if right_figure and "with_right_figure" in templates:
        key = "with_right_figure"
    elif claim_cell and "with_claim_cell" in templates:
        key = "with_claim_cell"
    elif claim.get("kind") and claim.get("kind") != "count" and fields["kind"] and "not_a_count" in templates:
        key = "not_a_count"
    elif claim.get("measure") and not claim.get("figure_id") and "measured" in templates:
        key = "measured"
    else:
        key = "default"
    template = templates.get(key) or templates.get("default") or "{verdict}"
    return _fill(template, fields)


def explain_finding(kind: str, row: dict, source: dict | None, words: dict | None = None) -> tuple[dict, str]:
    """(style entry, sentence) for a name or date finding."""
    words = words or wording()
    entry = words["findings"][kind]
    fields = {k: ("" if v is None else str(v)) for k, v in row.items()}
    fields["doc"] = document_noun(source, words)
    fields["role"] = humanise(row.get("role")) or "named"
    return entry, _fill(entry["explain"], fields)
