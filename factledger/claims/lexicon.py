"""Load lexicon.yaml and compile its patterns once. Everything rule-like the pipeline knows comes
from here; the modules that use it hold no word lists of their own."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).with_name("lexicon.yaml")


def cue_regex(pattern: str) -> str:
    """A cue pattern as regex source with word boundaries where the pattern has word characters at
    its ends, and any whitespace run where it has a space."""
    body = pattern.replace(" ", r"\s+")
    left = r"\b" if re.match(r"[\w(\[]", pattern) and not pattern.startswith("(?") else ""
    right = r"\b" if re.search(r"[\w?)\]]$", pattern) and not pattern.endswith("\\+") else ""
    if pattern.startswith("(?"):  # a group at the start (look-behind, alternation): boundary outside it
        left = r"\b"
    return f"{left}(?:{body}){right}"


def compile_cue(pattern: str) -> re.Pattern:
    """A case-insensitive regex for one cue pattern."""
    return re.compile(cue_regex(pattern), re.IGNORECASE)


@dataclass(frozen=True)
class Scanner:
    """All cue patterns of one dimension (or of the measures) in one regex, for lower-cased text:
    one pass finds every cue; at a given place the longest pattern is tried first. Lexicon
    patterns are written in lower case, so matching lower-cased text needs no IGNORECASE (which
    is several times slower). Which value a match belongs to is found by retrying the patterns,
    in the same order, at the match's position (named groups would make the scan ~10x slower)."""

    regex: re.Pattern
    patterns: tuple[tuple[str, re.Pattern], ...]  # (value, pattern), longest pattern first

    @classmethod
    def build(cls, cues: dict[str, list[str]]) -> "Scanner | None":
        pairs = sorted(((value, p) for value, patterns in cues.items() for p in patterns or ()), key=lambda vp: -len(vp[1]))
        if not pairs:
            return None
        sources = [cue_regex(p) for _, p in pairs]
        if all(src.startswith(r"\b") for src in sources):
            combined = r"\b(?:" + "|".join(src[2:] for src in sources) + ")"  # one boundary test, not one per pattern
        else:
            combined = "|".join(f"(?:{src})" for src in sources)
        return cls(re.compile(combined), tuple((value, re.compile(src)) for (value, _), src in zip(pairs, sources)))

    def finditer(self, lowered: str):
        for m in self.regex.finditer(lowered):
            value = next((v for v, p in self.patterns if (hit := p.match(lowered, m.start())) and hit.end() == m.end()), None)
            if value is not None:
                yield value, m


def lowered_regex(patterns: list[str]) -> re.Pattern | None:
    """Any of `patterns`, longest first, for lower-cased text."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{cue_regex(p)})" for p in sorted(patterns, key=len, reverse=True)))


def any_of(patterns: list[str]) -> re.Pattern | None:
    """One regex matching any of `patterns`, longest alternatives first."""
    if not patterns:
        return None
    ordered = sorted(patterns, key=len, reverse=True)
    return compile_cue("|".join(f"(?:{p})" for p in ordered)) if len(ordered) > 1 else compile_cue(ordered[0])


@dataclass(frozen=True)
class DimensionRules:
    name: str
    when_unnamed: str  # "total" or "any"
    labels: dict[str, str]
    scanner: Scanner | None   # every value's cues, for lower-cased text
    not_cues: re.Pattern | None  # for lower-cased text
    shared_from: tuple[str, ...]  # "earlier" and/or "later"


@dataclass(frozen=True)
class MeasureRules:
    name: str
    implied_by: tuple[str, ...]
    priority: int
    not_cues: re.Pattern | None  # for lower-cased text


@dataclass(frozen=True)
class Lexicon:
    raw: dict
    qualifiers_before: dict[str, re.Pattern]  # qualifier -> pattern anchored at the end of the preceding text
    qualifiers_after: dict[str, re.Pattern]   # qualifier -> pattern anchored at the start of the following text
    units: dict[str, re.Pattern]              # kind -> pattern anchored after the number (with up to max_gap words)
    non_claims: dict[str, re.Pattern]  # for lower-cased text
    measure_scanner: Scanner | None
    comparison_before: re.Pattern  # anchored at the end of the text between two numbers
    reference_before: re.Pattern   # anchored at the end of the text before a number
    reference_after: re.Pattern    # anchored at the start of the text after it
    lone_words_skipped: frozenset[str]
    vague: re.Pattern  # for lower-cased text
    dimensions: dict[str, DimensionRules]
    measures: dict[str, MeasureRules]
    date_events: dict[str, re.Pattern]
    reaction_events: dict[str, re.Pattern]
    max_event_distance: int
    source_refs: re.Pattern
    fiscal_year_start_month: int
    claim_date_marker: re.Pattern
    abbreviations: frozenset[str]
    name_titles: re.Pattern
    max_surname_distance: int
    min_surname_length: int


def _anchored_before(patterns: list[str]) -> re.Pattern:
    inner = "|".join(f"(?:{p.replace(' ', chr(92) + 's+')})" for p in sorted(patterns, key=len, reverse=True))
    return re.compile(rf"(?:^|(?<=[^\w]))(?:{inner})\s*$", re.IGNORECASE)


def _anchored_after(patterns: list[str]) -> re.Pattern:
    inner = "|".join(f"(?:{p.replace(' ', chr(92) + 's+')})" for p in sorted(patterns, key=len, reverse=True))
    return re.compile(rf"^\s*(?:{inner})(?!\w)", re.IGNORECASE)


@functools.lru_cache(maxsize=4)
def load(path: str | None = None) -> Lexicon:
    raw = yaml.safe_load(Path(path or DEFAULT_PATH).read_text(encoding="utf-8"))
    units = raw["units"]
    gaps = units.get("max_gap") or {}
    unit_patterns = {
        kind: re.compile(
            rf"^(?:\s*-\s*|\s+)(?:[\w'-]+\s+){{0,{int(gaps.get(kind, 0))}}}?(?:{'|'.join(sorted(words, key=len, reverse=True))})\b",
            re.IGNORECASE,
        )
        for kind, words in units.items() if kind != "max_gap"
    }
    dims = {
        name: DimensionRules(
            name=name,
            when_unnamed=spec.get("when_unnamed", "total"),
            labels={str(k): str(v) for k, v in (spec.get("labels") or {}).items()},
            scanner=Scanner.build(spec["cues"]),
            not_cues=lowered_regex(spec.get("not_cues") or []),
            shared_from=tuple(spec.get("shared_from") or ()),
        )
        for name, spec in raw["dimensions"].items()
    }
    measures = {
        name: MeasureRules(name, tuple(spec.get("implied_by") or ()), int(spec.get("priority", 1)),
                           lowered_regex(spec.get("not_cues") or []))
        for name, spec in raw["measures"].items()
    }
    dates = raw["dates"]
    markers = sorted(dates["claim_date_markers"], key=len, reverse=True)
    return Lexicon(
        raw=raw,
        qualifiers_before={q: _anchored_before(p) for q, p in raw["qualifiers"]["before"].items()},
        qualifiers_after={q: _anchored_after(p) for q, p in raw["qualifiers"]["after"].items()},
        units=unit_patterns,
        non_claims={k: re.compile(v) for k, v in raw["non_claims"].items()},
        measure_scanner=Scanner.build({name: spec.get("cues") or [] for name, spec in raw["measures"].items()}),
        comparison_before=_anchored_before(raw["comparisons"]),
        reference_before=_anchored_before(raw["figure_references"]["before"]),
        reference_after=_anchored_after(raw["figure_references"]["after"]),
        lone_words_skipped=frozenset(w.lower() for w in raw["lone_words_skipped"]),
        vague=lowered_regex(raw["vague"]),
        dimensions=dims,
        measures=measures,
        date_events={k: any_of(v) for k, v in dates["events"].items()},
        reaction_events={k: any_of(v) for k, v in dates["reactions"].items()},
        max_event_distance=int(dates.get("max_event_distance", 60)),
        source_refs=any_of(dates["source_refs"]),
        fiscal_year_start_month=int(dates.get("fiscal_year_start_month", 1)),
        claim_date_marker=re.compile(rf"(?:^|\W)(?:{'|'.join(m.replace(' ', chr(92) + 's+') for m in markers)})\s+(?:the\s+)?$", re.IGNORECASE),
        abbreviations=frozenset(raw["abbreviations"]),
        name_titles=re.compile(rf"(?:{'|'.join(sorted(raw['names']['titles'], key=len, reverse=True))})\s+$"),
        max_surname_distance=int(raw["names"]["max_surname_distance"]),
        min_surname_length=int(raw["names"]["min_surname_length"]),
    )
