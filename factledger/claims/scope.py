"""What a number counts: the measure and the value of each dimension its sentence cues.

A sentence often carries several numbers ("62,231 ... convicted of assault ...; 42,915 have pending
assault charges"). Cue words are attributed in this order, first hit wins, and the basis is kept
so a reader can see why:
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

from dataclasses import dataclass, field

from factledger.claims.lexicon import Lexicon

MEASURE = "measure"


@dataclass(frozen=True)
class Cue:
    kind: str    # a dimension name, or "measure"
    value: str   # a dimension value or a measure name
    start: int   # sentence offsets
    end: int
    text: str


@dataclass(frozen=True)
class Decision:
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
        blocked = [(m.start(), m.end()) for m in not_cues.finditer(lowered_text)] if not_cues else []
        for value, m in scanner.finditer(lowered_text):
            if kind == MEASURE and lexicon.measures[value].not_cues is not None:
                blocked_here = lexicon.measures[value].not_cues.search(lowered_text, max(0, m.start() - 30), m.end() + 1)
                if blocked_here and blocked_here.start() <= m.start() and m.end() <= blocked_here.end():
                    continue
            if not any(s <= m.start() and m.end() <= e for s, e in blocked):
                cues.append(Cue(kind, value, m.start(), m.end(), m.group()))
    return sorted(cues, key=lambda c: c.start)


def in_span(cues: list[Cue], start: int, end: int) -> list[Cue]:
    """The cues inside [start, end), with offsets made relative to `start`."""
    return [Cue(c.kind, c.value, c.start - start, c.end - start, c.text) for c in cues if start <= c.start and c.end <= end]


def regions(number_spans: list[tuple[int, int]], sentence_length: int) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The sentence opening (before the first number) and each number's `after` region (up to the
    next number), as sentence offsets."""
    opening = (0, number_spans[0][0]) if number_spans else (0, sentence_length)
    after = [(end, number_spans[i + 1][0] if i + 1 < len(number_spans) else sentence_length)
             for i, (_, end) in enumerate(number_spans)]
    return opening, after


def _inside(cue: Cue, region: tuple[int, int]) -> bool:
    return region[0] <= cue.start and cue.end <= region[1]


def decide_scope(cues: list[Cue], opening: tuple[int, int], after: tuple[int, int], lexicon: Lexicon) -> Scope:
    """The scope of one number from the cues of its sentence and its regions."""
    scope = Scope()
    for name in lexicon.dimensions:
        rules = lexicon.dimensions[name]
        scope.dimensions[name] = _decide_dimension([c for c in cues if c.kind == name], opening, after, rules.shared_from)
    scope.measure = _decide_measure(cues, opening, after, lexicon)
    return scope


def _decide_dimension(cues: list[Cue], opening: tuple[int, int], after: tuple[int, int], shared_from: tuple[str, ...]) -> Decision:
    own = [c for c in cues if _inside(c, after)]
    if own:
        return Decision(own[0].value, own[0].text, "after")
    shared = [c for c in cues if _inside(c, opening)]
    if shared:
        return Decision(shared[-1].value, shared[-1].text, "opening")
    earlier = [c for c in cues if c.end <= after[0]]
    if "earlier" in shared_from and earlier:
        return Decision(earlier[-1].value, earlier[-1].text, "sentence")
    if "later" in shared_from and len({c.value for c in cues}) == 1:
        return Decision(cues[0].value, cues[0].text, "sentence")
    return Decision(None, None, "unnamed")


def _decide_measure(cues: list[Cue], opening: tuple[int, int], after: tuple[int, int], lexicon: Lexicon) -> Decision:
    for region, basis in ((after, "after"), (opening, "opening")):
        found = [(c, c.value) for c in cues if c.kind == MEASURE and _inside(c, region)]
        found += [(c, name) for name, rules in lexicon.measures.items()
                  for c in cues if c.kind in rules.implied_by and _inside(c, region)]
        if found:
            # Nearest to the number wins; at the same place the more specific measure.
            distance = (lambda c: c.start - region[0]) if basis == "after" else (lambda c: region[1] - c.end)
            cue, name = min(found, key=lambda f: (distance(f[0]), -lexicon.measures[f[1]].priority))
            return Decision(name, cue.text, basis)
    return Decision(None, None, None)
