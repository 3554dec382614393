"""What a number counts: the measure and the value of each dimension its sentence cues.

A sentence often carries several numbers ("62,231 ... convicted of assault ...; 42,915 have pending
assault charges"). Cue words are attributed in this order, first hit wins, and the basis is kept
so a reader can see why:
  0. `before`: a cue written just before the number, with at most two small words between and no
     clause break ("Alaska (44.1%), Oregon (30%)", "Nevada saw a 29% rise"): the list pattern. Such
     a cue belongs to its own number, never to the number before it;
  1. `after`: cues between the number and the next number of the sentence (English describes a
     number after it: "2,348 noncitizens who have been convicted of assault");
  2. `opening`: cues before the sentence's first number, shared by all its numbers ("Of the
     migrants not currently in detention, more than 425,000 ... and some 222,000 ...");
  3. `sentence`: from another number of the sentence, as the lexicon allows per dimension: the
     nearest cue before the number ("2,348 convicted of assault and 1,498 who have pending
     charges"), or, for a shared predicate, the single value the sentence cues ("X convicted of
     homicide and Y found guilty of rape are roaming ...").
The measure is decided from 1 and 2 only, nearest cue first: a number with no measure cue of its
own or in the sentence opening is not a count of anything the source has.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from factledger.claims.lexicon import Lexicon
from factledger.claims.prefilter import by_identity, scan
from factledger.claims.reconcile import UNLISTED  # a value the text names that the source does not list

MEASURE = "measure"


# (Not frozen: made for every number or sentence, and a frozen dataclass's __init__, which sets
# each field through object.__setattr__, costs about four times as much. Never changed once made.)
@dataclass(slots=True)
class Cue:
    kind: str    # a dimension name, or "measure"
    value: str   # a dimension value or a measure name
    start: int   # sentence offsets
    end: int
    text: str


# (A NamedTuple, not a frozen dataclass: several are made for every number, and rows are keyed by
# tuples of them (pipeline._scope_columns); a tuple is made, hashed and compared in C, a frozen
# dataclass through Python-level __init__, __hash__ and __eq__.)
class Decision(NamedTuple):
    value: str | None
    cue: str | None = None
    basis: str | None = None  # after / opening / sentence / earlier mention / unnamed


@dataclass
class Scope:
    measure: Decision = field(default_factory=lambda: Decision(None))
    dimensions: dict[str, Decision] = field(default_factory=dict)


def find_cues(lowered_text: str, lexicon: Lexicon) -> list[Cue]:
    """Every dimension and measure cue of a lower-cased text (a whole article at once), minus
    the lexicon's `not_cues`. Within a dimension matches do not overlap: the leftmost wins, and at
    one place the longest pattern ("not detained" over "detained", "sexual assault" over "assault")."""
    cues: list[Cue] = []
    scanners = [(name, rules.scanner, rules.not_cues) for name, rules in lexicon.dimensions.items()]
    scanners.append((MEASURE, lexicon.measure_scanner, None))
    for kind, scanner, not_cues in scanners:
        if scanner is None:
            continue
        blocked = [(m.start(), m.end()) for m in lexicon.lowered_matches(not_cues, lowered_text)] if not_cues else []
        for value, m in scanner.finditer(lowered_text, lexicon.lowered_matches(scanner.regex, lowered_text)):
            start, end = m.span()  # (read once: a shared scan's match answers in Python)
            if kind == MEASURE and lexicon.measures[value].not_cues is not None:
                blocked_here = lexicon.measures[value].not_cues.search(lowered_text, max(0, start - 30), end + 1)
                if blocked_here and blocked_here.start() <= start and end <= blocked_here.end():
                    continue
            if not blocked or not any(s <= start and end <= e for s, e in blocked):
                cues.append(Cue(kind, value, start, end, m.group()))
    return sorted(cues, key=lambda c: c.start)


def in_span(cues: list[Cue], start: int, end: int) -> list[Cue]:
    """The cues inside [start, end), with offsets made relative to `start`."""
    return [Cue(c.kind, c.value, c.start - start, c.end - start, c.text) for c in cues if start <= c.start and c.end <= end]


# Between a cue and its number: only brackets, colons, quotes and spaces ("Alaska (44.1%)"), or a
# verb of reporting with an article ("Nevada saw a 29% rise"). A comma or "and" is not tight: in
# "convicted of assault, 56,533 of dangerous drugs" the cue belongs to the number before it.
_TIGHT_GAP = re.compile(r"^[\s(\[:\"'+-]*(?:(?:saw|had|posted|recorded|reported|with|at)\s+(?:an?\s+|the\s+)?)?$")


def tight_prefix(cues: list[Cue], number_start: int, previous_end: int, lowered_sentence: str) -> tuple[int, list[Cue]] | None:
    """The cues written just before a number (the list pattern "Alaska (44.1%)"): those of the
    last cue run ending at most two small words before it, after the previous number. Returns the
    start of that run and its cues, or None."""
    before = [c for c in cues if c.kind != MEASURE and previous_end <= c.start and c.end <= number_start]
    if not before:
        return None
    last = max(before, key=lambda c: c.end)
    if not _TIGHT_GAP.match(lowered_sentence[last.end:number_start]):
        return None
    run = [c for c in before if c.end == last.end or (c.start >= last.start and c.end <= last.end)]
    return last.start, run


def orient(prefixes: list[tuple[int, list[Cue]] | None], afters: list[tuple[int, int]], cues: list[Cue]) -> list[tuple[int, list[Cue]] | None]:
    """Keep, per dimension, the cues written before their numbers only when the sentence's pattern
    is cue-then-number: the first number with a cue of that dimension on either side has it before.
    In an enumeration each number takes the category on its own side, consistently."""
    kinds = {c.kind for p in prefixes if p for c in p[1]}
    keep: set[str] = set()
    for kind in kinds:
        for prefix, after in zip(prefixes, afters):
            if prefix and any(c.kind == kind for c in prefix[1]):
                keep.add(kind)
                break
            if any(c.kind == kind and _inside(c, after) for c in cues):
                break
    out = []
    for prefix in prefixes:
        kept = [c for c in (prefix[1] if prefix else []) if c.kind in keep]
        out.append((prefix[0], kept) if kept else None)
    return out


# Where a new clause with its own subject starts: ", and", ", but", ", while", "; ".
CLAUSE_BREAK = re.compile(r",\s+(?:and|but|while|whereas|whilst|though|although|according to)\s+(?!\d)|;\s+|\s+[\u2014\u2013-]+\s+|\u2014")
# Examples after a category ("synthetic opioids like fentanyl", "psychostimulants like meth and
# cocaine") name no category of their own.
_EXAMPLES = re.compile(r"\b(?:like|such as|including|especially|notably)\s+(?:[\w-]+\s+){0,3}$")


def unlisted_parts(scope: Scope, cues: list[Cue], lowered_sentence: str, lexicon: Lexicon) -> None:
    """A total's words narrowed by a restrictor and words that are no cue ("overdose deaths from
    semi-synthetic drugs like morphine"): the number counts a part the source does not break out.
    Marks that dimension's value as UNLISTED, keeping the words as its cue."""
    for name, decision in scope.dimensions.items():
        rules = lexicon.dimensions[name]
        if decision.value is None or decision.value != rules.total or decision.cue is None:
            continue
        cue = next((c for c in cues if c.kind == name and c.text == decision.cue), None)
        if cue is None:
            continue
        m = lexicon.restrictor.match(lowered_sentence, cue.end)
        if not m or lexicon.not_parts.match(m.group("part")):
            continue
        part_start = m.start("part")
        if any(c.start <= part_start < c.end for c in cues):
            continue
        scope.dimensions[name] = Decision(UNLISTED, lowered_sentence[cue.start:m.end()], decision.basis)


# A proper name just before a number ("North Carolina (14%)", "Utah had an 8% increase"), or after
# "in"/"across"/"for" ("overdose deaths in Alabama rose by 8%").
_NAME_BEFORE = re.compile(r"(?:^|[^\w.])(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)[\s(\[:\"'+-]*(?:(?:saw|had|posted|recorded|reported|with)\s+(?:an?\s+|the\s+)?)?$")
_NAME_AFTER_IN = re.compile(r"\b(?:in|across)\s+(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*)")


def unlisted_names(scope: Scope, text: str, previous_end: int, number_start: int, regions: list[tuple[int, int]],
                   cues: list[Cue], entity_dims: tuple[str, ...], not_names: frozenset[str]) -> None:
    """A number whose own words name a place or body the source does not list ("North Carolina
    (14%)" where the source lists seven states): for each dimension of proper names that the text
    does not name at the number itself, mark it UNLISTED, so the number is not judged against the
    total or against a neighbour of the list."""
    for name in entity_dims:
        decision = scope.dimensions.get(name)
        if decision is None or decision.basis in ("before", "after"):
            continue
        found = _NAME_BEFORE.search(text[previous_end:number_start])
        names = [found.group("name")] if found else []
        if decision.value is None:
            for start, end in regions:
                names += [m.group("name") for m in _NAME_AFTER_IN.finditer(text, start, end)]
        names = [n for n in names if n.split()[0] not in not_names and not _is_cue(n, text, cues)]
        if names:
            scope.dimensions[name] = Decision(UNLISTED, names[0], "unlisted")


def _is_cue(name: str, text: str, cues: list[Cue]) -> bool:
    at = text.find(name)
    return any(c.start <= at < c.end for c in cues)


def drop_examples(cues: list[Cue], lowered_sentence: str) -> list[Cue]:
    """Cues that only give examples of a category cued just before them."""
    out = []
    for cue in cues:
        head = [c for c in out if c.kind == cue.kind and c.end <= cue.start and cue.start - c.end <= 40]
        if head and _EXAMPLES.search(lowered_sentence[head[-1].end:cue.start]):
            continue
        out.append(cue)
    return out


def clause_starts(number_spans: list[tuple[int, int]], lowered_sentence: str) -> list[int]:
    """For each number, where the clause it stands in starts (0: the sentence's first clause)."""
    breaks = [m.end() for m in CLAUSE_BREAK.finditer(lowered_sentence)]  # (ascending: finditer's order)
    return [breaks[k - 1] if (k := bisect.bisect_right(breaks, start)) else 0 for start, _ in number_spans]


def regions(number_spans: list[tuple[int, int]], sentence_length: int,
            prefix_starts: list[int | None] | None = None, lowered_sentence: str | None = None) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The sentence opening (before the first number) and each number's `after` region (up to the
    next number, or to the start of the cue written just before it), as sentence offsets."""
    prefix_starts = prefix_starts or [None] * len(number_spans)
    opening = (0, number_spans[0][0]) if number_spans else (0, sentence_length)
    after = []
    for i, (_, end) in enumerate(number_spans):
        stop = number_spans[i + 1][0] if i + 1 < len(number_spans) else sentence_length
        if i + 1 < len(number_spans) and prefix_starts[i + 1] is not None and prefix_starts[i + 1] >= end:
            stop = prefix_starts[i + 1]
        if lowered_sentence is not None:
            clause = CLAUSE_BREAK.search(lowered_sentence, end, stop)
            stop = clause.start() if clause else stop
        after.append((end, stop))
    return opening, after


def _inside(cue: Cue, region: tuple[int, int]) -> bool:
    return region[0] <= cue.start and cue.end <= region[1]


def decide_scope(cues: list[Cue], opening: tuple[int, int], after: tuple[int, int], lexicon: Lexicon,
                 prefix: tuple[int, list[Cue]] | None = None, clause_start: int = 0) -> Scope:
    """The scope of one number from the cues of its sentence and its regions."""
    own_before = {c.kind: c for c in prefix[1]} if prefix else {}
    by_kind: dict[str, list[Cue]] = {}  # (one pass over the cues, not one per dimension)
    for c in cues:
        by_kind.setdefault(c.kind, []).append(c)
    dimensions = {}
    for name, rules in lexicon.dimensions.items():
        cue = own_before.get(name)
        if cue is not None:
            dimensions[name] = Decision(cue.value, cue.text, "before")
        else:
            dimensions[name] = _decide_dimension(by_kind.get(name, ()), opening, after, rules.shared_from, clause_start, rules.total)
    return Scope(_decide_measure(cues, opening, after, lexicon), dimensions)


def _decide_dimension(cues: list[Cue], opening: tuple[int, int], after: tuple[int, int], shared_from: tuple[str, ...],
                      clause_start: int = 0, total: str | None = None) -> Decision:
    if not cues:  # (most dimensions of most sentences: every test below needs a cue)
        return _UNNAMED
    low, high = after  # (`_inside`, written out: called for every cue of every number)
    own = [c for c in cues if low <= c.start and c.end <= high]
    if own:
        return Decision(own[0].value, own[0].text, "after")
    if clause_start > opening[1]:
        # A later clause with a subject of its own ("..., and deaths linked to fentanyl dropped from
        # 76,226"): its words, not the sentence opening's nor an earlier clause's.
        cues = [c for c in cues if c.start >= clause_start]
        in_clause = [c for c in cues if c.end <= after[0]]
        if in_clause:
            return Decision(in_clause[-1].value, in_clause[-1].text, "sentence")
    shared = [c for c in cues if opening[0] <= c.start and c.end <= opening[1]]
    if shared:
        # "opioid overdose deaths", "Deaths involving fentanyl ..., which make up most fatal
        # overdoses, declined": a named part is more specific than the total's words.
        parts = [c for c in shared if c.value != total]
        chosen = parts[-1] if parts else shared[-1]
        return Decision(chosen.value, chosen.text, "opening")
    earlier = [c for c in cues if c.end <= after[0]]
    if "earlier" in shared_from and earlier:
        return Decision(earlier[-1].value, earlier[-1].text, "sentence")
    if "later" in shared_from and len({c.value for c in cues}) == 1:
        return Decision(cues[0].value, cues[0].text, "sentence")
    return _UNNAMED


_UNNAMED = Decision(None, None, "unnamed")


# The measures some dimension's cue implies, with those dimensions, in order (per lexicon: most
# measures have none, and this is asked twice per number).
_implying = by_identity(lambda measures: [(name, rules.implied_by) for name, rules in measures.items() if rules.implied_by])


def _decide_measure(cues: list[Cue], opening: tuple[int, int], after: tuple[int, int], lexicon: Lexicon) -> Decision:
    if not cues:
        return _NO_MEASURE
    implying = _implying(lexicon.measures)
    for region, basis in ((after, "after"), (opening, "opening")):
        low, high = region  # (the cues inside the region first, in order: the tests below then see only those)
        inside = [c for c in cues if low <= c.start and c.end <= high]
        if not inside:
            continue
        found = [(c, c.value) for c in inside if c.kind == MEASURE]
        found += [(c, name) for name, implied_by in implying for c in inside if c.kind in implied_by]
        if found:
            # Nearest to the number wins; at the same place the more specific measure.
            distance = (lambda c: c.start - region[0]) if basis == "after" else (lambda c: region[1] - c.end)
            cue, name = min(found, key=lambda f: (distance(f[0]), -lexicon.measures[f[1]].priority))
            return Decision(name, cue.text, basis)
    return _NO_MEASURE


_NO_MEASURE = Decision(None, None, None)
