"""Load lexicon.yaml (the language: hedges, units, number words, directions, dates) and compile its
patterns once; `Vocabulary` compiles the domain words of the cited sources (their dimension-value
and measure cues, read from source_dimensions and source_measures). `Lexicon.with_vocabulary`
joins the two for one article. The modules that use them hold no word lists of their own."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from factledger.claims.prefilter import first_characters, scan, shared_scan

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
    # First character -> the patterns (in the order above) that can start with it; `anywhere`:
    # those whose first characters are not known. The retry tries only these.
    # (Derived from `patterns`, so left out of equality and hashing.)
    by_first: dict[str, tuple[tuple[str, re.Pattern], ...]] = field(default_factory=dict, compare=False, hash=False)
    anywhere: tuple[tuple[str, re.Pattern], ...] | None = field(default=None, compare=False, hash=False)
    # The patterns again, each in a named group, in the same order (None when a pattern has group
    # references of its own): matched at a scan's match, the group that took part names the first
    # pattern matching there, which is the one the retry finds (the scan tried them in this order).
    identify: re.Pattern | None = field(default=None, compare=False, hash=False)

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
        patterns = tuple((value, re.compile(src)) for (value, _), src in zip(pairs, sources))
        firsts = [first_characters(p) for _, p in patterns]
        chars = set().union(*(f for f in firsts if f is not None))
        by_first = {c: tuple(vp for vp, f in zip(patterns, firsts) if f is None or c in f) for c in chars}
        anywhere = tuple(vp for vp, f in zip(patterns, firsts) if f is None)
        return cls(re.compile(combined), patterns, by_first, anywhere, _identifier(sources))

    def finditer(self, lowered: str, matches: list[re.Match] | None = None):
        """(value, match) for each match of the scan in `lowered` (`matches`: the scan's matches
        there, if already found)."""
        by_first, anywhere, identify, patterns = self.by_first, self.anywhere, self.identify, self.patterns
        for m in scan(self.regex).finditer(lowered) if matches is None else matches:
            start = m.start()
            if identify is not None:
                hit = identify.match(lowered, start)
                if hit is not None and hit.end() == m.end():
                    yield patterns[int(hit.lastgroup[1:])][0], m
                    continue
            tried = self.patterns if anywhere is None else by_first.get(lowered[start:start + 1], anywhere)
            value = next((v for v, p in tried if (hit := p.match(lowered, start)) and hit.end() == m.end()), None)
            if value is not None:
                yield value, m


def _identifier(sources: list[str]) -> re.Pattern | None:
    """`sources` as one alternation with each alternative in a group named `_<its index>`, or None
    when a source refers to groups itself (numbers would shift) or names its own."""
    if any(re.search(r"\\\d|\(\?P[<=]", src) for src in sources):
        return None
    return re.compile("|".join(f"(?P<_{i}>{src})" for i, src in enumerate(sources)))


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
    total: str | None = None      # the value meaning "every value"


@dataclass(frozen=True)
class MeasureRules:
    name: str
    implied_by: tuple[str, ...]
    priority: int
    not_cues: re.Pattern | None  # for lower-cased text
    unit: str = "count"
    change_of: str | None = None
    change: str | None = None    # difference | percent, for a change measure


@dataclass(frozen=True)
class Vocabulary:
    """The cited sources' words for their dimension values and measures, compiled once per set of
    sources. A value or measure declared without cues is cued by its label and its name read as words."""

    dimensions: dict[str, DimensionRules] = field(default_factory=dict)
    measures: dict[str, MeasureRules] = field(default_factory=dict)
    measure_scanner: Scanner | None = None
    # Dimensions whose values are proper names (states, countries, agencies): most labels capitalised.
    entity_dimensions: tuple[str, ...] = ()

    @classmethod
    def build(cls, dimension_rows: list[dict], measure_rows: list[dict]) -> "Vocabulary":
        """From rows of source_dimensions and source_measures (of the cited sources, in citing
        order: where two sources declare the same dimension or measure, their cues are merged)."""
        dims: dict[str, dict] = {}
        for row in dimension_rows:
            spec = dims.setdefault(row["dimension"], {"cues": {}, "labels": {}, "not_cues": [], "when_unnamed": row["when_unnamed"],
                                                       "shared_from": tuple(_split(row["shared_from"]))})
            spec["labels"].setdefault(row["value"], row["label"])
            if row["is_total"]:
                spec.setdefault("total", row["value"])
            spec["cues"].setdefault(row["value"], []).extend(_cues(row["cues"], row["label"], row["value"]))
            spec["not_cues"] += [c for c in json.loads(row["not_cues"] or "[]") if c not in spec["not_cues"]]
        dimensions = {
            name: DimensionRules(name, spec["when_unnamed"], spec["labels"], Scanner.build(_lowered_cues(spec["cues"])),
                                 lowered_regex([p.lower() for p in spec["not_cues"]]), spec["shared_from"], spec.get("total"))
            for name, spec in dims.items()
        }
        measures, measure_cues = {}, {}
        for row in measure_rows:
            if row["measure"] in measures:
                measure_cues[row["measure"]] += json.loads(row["cues"] or "[]")
                continue
            measures[row["measure"]] = MeasureRules(
                row["measure"], tuple(_split(row["implied_by"])), int(row["priority"] or 1),
                lowered_regex([p.lower() for p in json.loads(row["not_cues"] or "[]")]),
                row["unit"] or "count", row.get("change_of"), row.get("change"))
            # A change measure is cued by the words of the measure it is a change of (plus a direction).
            if row.get("change_of"):
                measure_cues[row["measure"]] = []
            else:
                measure_cues[row["measure"]] = _cues(row["cues"], None, row["measure"])
        return cls(dimensions, measures, Scanner.build(_lowered_cues(measure_cues)), _entity_dimensions(dimensions))


def _entity_dimensions(dimensions: dict[str, DimensionRules]) -> tuple[str, ...]:
    out = []
    for name, rules in dimensions.items():
        labels = [label for value, label in rules.labels.items() if value != rules.total and label]
        if labels and sum(label[:1].isupper() for label in labels) * 3 >= len(labels) * 2:
            out.append(name)
    return tuple(out)


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def _cues(cues_json: str | None, label: str | None, name: str) -> list[str]:
    declared = json.loads(cues_json or "[]")
    if declared:
        return declared
    words = [re.escape(w) for w in {name.replace("_", " "), (label or "").strip()} if w and w.strip()]
    return words


def _lowered_cues(cues: dict[str, list[str]]) -> dict[str, list[str]]:
    # Scanners match lower-cased text; patterns are lower-cased to match (escapes keep their case).
    return {value: [_lower_pattern(p) for p in patterns] for value, patterns in cues.items()}


def _lower_pattern(pattern: str) -> str:
    """Lower-case a pattern's literal letters, leaving escapes (\\w, \\S, \\b...) as they are."""
    return re.sub(r"\\.|[A-Z]", lambda m: m.group() if m.group().startswith("\\") else m.group().lower(), pattern)


@dataclass(frozen=True)
class Lexicon:
    raw: dict
    qualifiers_before: dict[str, re.Pattern]  # qualifier -> pattern anchored at the end of the preceding text
    qualifiers_after: dict[str, re.Pattern]   # qualifier -> pattern anchored at the start of the following text
    units: dict[str, re.Pattern]              # kind -> pattern anchored after the number (with up to max_gap words)
    non_claims: dict[str, re.Pattern]  # for lower-cased text
    comparison_before: re.Pattern  # anchored at the end of the text between two numbers
    reference_before: re.Pattern   # anchored at the end of the text before a number
    reference_after: re.Pattern    # anchored at the start of the text after it
    lone_words_skipped: frozenset[str]
    vague: re.Pattern  # for lower-cased text
    directions: dict[str, re.Pattern]  # up/down -> one word, matched on lower-cased words
    direction_gap_words: frozenset[str]
    direction_level_markers: re.Pattern
    direction_max_gap: dict[str, int]
    restrictor: re.Pattern            # "from", "involving" ... after a total's cue, anchored at the start
    not_parts: re.Pattern             # words after a restrictor that name no part
    not_names: frozenset[str]         # capitalised words that name no place or body
    anaphora: re.Pattern              # a sentence opening that points back ("Of those, ...")
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
    dimensions: dict[str, DimensionRules] = field(default_factory=dict)
    measures: dict[str, MeasureRules] = field(default_factory=dict)
    measure_scanner: Scanner | None = None
    entity_dimensions: tuple[str, ...] = ()

    @functools.cached_property
    def _lowered_scan(self):
        """One pass (prefilter.SharedScan) for the patterns matched on a lower-cased article: the
        non-claim patterns, vague quantities, and the cited sources' cue scanners and not-cues."""
        patterns = [*self.non_claims.values(), self.vague]
        for rules in self.dimensions.values():
            patterns += [p for p in (rules.scanner.regex if rules.scanner else None, rules.not_cues) if p is not None]
        if self.measure_scanner is not None:
            patterns.append(self.measure_scanner.regex)
        shared = shared_scan(tuple(dict.fromkeys(patterns)))
        return shared, {p: i for i, p in enumerate(shared.patterns)}

    def lowered_matches(self, pattern: re.Pattern, lowered_text: str) -> list[re.Match]:
        """The matches of `pattern.finditer(lowered_text)`, for a pattern of `_lowered_scan` (all
        of them found in one pass over the text, shared by the callers asking about the same
        text): each with its span and text (`prefilter.Found`), no groups."""
        shared, index = self._lowered_scan
        return shared.matches(lowered_text)[index[pattern]]

    def with_vocabulary(self, vocabulary: Vocabulary) -> "Lexicon":
        """This language plus the cited sources' words."""
        return replace(self, dimensions=vocabulary.dimensions, measures=vocabulary.measures,
                       measure_scanner=vocabulary.measure_scanner, entity_dimensions=vocabulary.entity_dimensions)


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
    directions = raw["directions"]
    dates = raw["dates"]
    markers = sorted(dates["claim_date_markers"], key=len, reverse=True)
    return Lexicon(
        raw=raw,
        qualifiers_before={q: _anchored_before(p) for q, p in raw["qualifiers"]["before"].items()},
        qualifiers_after={q: _anchored_after(p) for q, p in raw["qualifiers"]["after"].items()},
        units=unit_patterns,
        non_claims={k: re.compile(v) for k, v in raw["non_claims"].items()},
        comparison_before=_anchored_before(raw["comparisons"]),
        reference_before=_anchored_before(raw["figure_references"]["before"]),
        reference_after=_anchored_after(raw["figure_references"]["after"]),
        lone_words_skipped=frozenset(w.lower() for w in raw["lone_words_skipped"]),
        vague=lowered_regex(raw["vague"]),
        directions={d: re.compile(rf"(?:{'|'.join(directions[d])})$") for d in ("down", "up", "either")},
        direction_gap_words=frozenset(w for g in directions["gap_words"] for w in g.split()),
        direction_level_markers=re.compile(rf"^(?:{'|'.join(directions['level_markers'])})$"),
        direction_max_gap={k: int(v) for k, v in directions["max_gap"].items()},
        restrictor=re.compile(rf"\s+(?:{'|'.join(raw['restrictors'])})\s+(?P<part>[a-z][\w-]*)"),
        not_names=frozenset(raw["not_names"]),
        anaphora=re.compile(rf"^\W*(?:{'|'.join(raw['anaphora'])})\b", re.IGNORECASE),
        not_parts=re.compile(rf"^(?:{'|'.join(raw['not_parts'])})$"),
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
