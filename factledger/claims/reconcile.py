"""Verdicts: each claim against the official figures (stated and derived), per the eval README.

- exact: the value equals the figure for the population the text names;
- rounded: value and hedge are consistent with that figure (see `claim_interval`);
- wrong_scope: no figure of the named population fits, but a figure of another population of the
  same measure does (exactly or by rounding);
- contradicted: the source has the named population and no figure of it fits;
- not_in_source: the number is not a count the source has (no measure cue, another time, a
  duration or percentage, or a cell the source does not give).

Pure functions over plain values; `FigureIndex` groups the figures once so a claim only looks at
the figures of its measure.
"""
from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import defaultdict
from dataclasses import dataclass, field, replace

from factledger.cells import parse_dims
from factledger.claims.dates import as_date, overlap_share
from factledger.claims.numbers import unit_of

UNLISTED = "?"  # a claim's dimension value that names something the source does not list (scope.UNLISTED)
EXACT, ROUNDED, WRONG_SCOPE, CONTRADICTED, NOT_IN_SOURCE = "exact", "rounded", "wrong_scope", "contradicted", "not_in_source"
VERDICTS = (EXACT, ROUNDED, WRONG_SCOPE, CONTRADICTED, NOT_IN_SOURCE)
# A flow figure's period and a claim's period must share at least this much of the shorter one.
MIN_PERIOD_OVERLAP = 0.5
# A number with no measure cue that equals one of the source's figures exactly, with at least
# this many significant digits ("647,572"), is taken to be that figure: such a match is no accident.
DISTINCTIVE_DIGITS = 4
# A count this many times smaller or larger than every figure of the population it names counts
# something else ("two of them were charged", against cells of thousands): not a contradiction.
IMPLAUSIBLE_RATIO = 20


_KIND_WORDS = {"percent": "a percentage", "money": "an amount of money", "duration": "a duration", "ratio": "a ratio",
               "other": "a number of something else"}


# ---- hedges and rounding as intervals ------------------------------------------------------------

# (Not frozen: made for every number or sentence, and a frozen dataclass's __init__, which sets
# each field through object.__setattr__, costs about four times as much. Never changed once made.)
@dataclass(slots=True)
class Interval:
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def overlaps(self, other: "Interval") -> bool:
        if self.high < other.low or other.high < self.low:
            return False
        if self.high == other.low:
            return not (self.high_open or other.low_open)
        if other.high == self.low:
            return not (other.high_open or self.low_open)
        return True


def tolerance(unit: float, significant_digits: int) -> float:
    """How far a round number may be from what it stands for: one unit of its last significant
    digit ("435,000" for 435,719), half a unit for a one-digit number ("900,000", "a million")."""
    return unit / 2 if significant_digits <= 1 else unit


# How far a hedge may stretch, as a share of the number, on top of one unit of its last digit:
# "almost 14,000" for 13,099 is 6.4% short, no rounding; "nearly 16,000" for 15,811 (1.2%) is.
# "more than" / "at least" are floors (a writer may pick any round number below the figure within
# one unit: "over 100,000" for 107,543), so they are not capped.
HEDGE_MAX_SHARE = {"nearly": 0.05, "about": 0.05}


def claim_interval(value: float, qualifier: str, unit: float, significant_digits: int, percent: bool = False) -> Interval:
    """The values a hedged, possibly rounded number is consistent with. A hedge has a direction:
    "more than X" needs the figure above X, "nearly X" below X and close, "about X" close."""
    tol = tolerance(unit, significant_digits)
    if qualifier in HEDGE_MAX_SHARE and value > 0:
        tol = min(tol, HEDGE_MAX_SHARE[qualifier] * value)
    if qualifier == "more_than":
        return Interval(value, value + tol, low_open=True)
    if qualifier == "at_least":
        return Interval(value, value + tol)
    if qualifier in ("nearly", "less_than"):
        return Interval(value - tol, value, high_open=True)
    if qualifier == "at_most":
        return Interval(value - tol, value)
    if qualifier == "about":
        return Interval(value - tol, value + tol)
    if unit < 1 or (unit == 1 and percent):  # "3.7" stands for 3.65 to 3.75, "2%" for 1.5 to 2.5
        return Interval(value - unit / 2, value + unit / 2, high_open=True)
    if unit == 1:
        return Interval(value, value)
    # A bare round number: the writer rounded or truncated (within one unit either side).
    return Interval(value - tol, value + tol, low_open=significant_digits > 1, high_open=significant_digits > 1)


def figure_interval(value: float, qualifier: str, decimals: int | None = None, rounded: bool = False) -> Interval:
    """What the source's own figure allows: 893,600 with the source's "more than" is (893600, 893700];
    a stated "-3" percent (`rounded`: a percentage or a decimal as stated) stands for -3.5 to -2.5,
    while a stated count is that count."""
    if qualifier in (None, "", "none"):
        if decimals is None or not rounded:  # derived (exact arithmetic), or a count
            return Interval(value, value)
        half = 0.5 * 10 ** -decimals  # stated: rounded to its last decimal
        return Interval(value - half, value + half)
    if qualifier in ("at_least", "more_than"):  # a bound: "increases of at least 27%"
        return Interval(value, float("inf"), low_open=qualifier == "more_than")
    if qualifier in ("at_most", "less_than"):
        return Interval(float("-inf") if value < 0 else 0.0, value, high_open=qualifier == "less_than")
    unit, sig = unit_of(value)
    return claim_interval(value, qualifier, unit, max(sig, 2))


# ---- figures ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    figure_id: str
    source_id: str
    measure: str
    dims: tuple[tuple[str, str | None], ...]
    value: float
    qualifier: str
    derived: bool
    as_of_date: dt.date | None
    period_start: dt.date | None
    period_end: dt.date | None
    decimals: int | None = None
    compared_from: dt.date | None = None  # a change cell: the start of the period it is compared with
    unit: str = "count"
    is_change: bool = False               # a cell of a change_of measure (signed: negative for a decrease)

    @property
    def rounded(self) -> bool:
        """Whether the stated value is rounded at its last digit: a percentage, or a decimal."""
        return self.unit == "percent" or bool(self.decimals)

    @functools.cached_property
    def dim_map(self) -> dict[str, str | None]:
        """The dimension values as a dict (built once per figure; read, never changed)."""
        return dict(self.dims)

    @functools.cached_property
    def value_interval(self) -> Interval:
        """What the source's value allows (`figure_interval`), once per figure."""
        return figure_interval(self.value, self.qualifier, self.decimals, self.rounded)

    @functools.cached_property
    def whole_digits(self) -> int | None:
        """How many digits the size of a whole-number value has (None for a fraction)."""
        size = abs(self.value)
        return len(str(int(size))) if size == int(size) else None

    @functools.cached_property
    def digits(self) -> str | None:
        """The digits of the size of a whole-number value ("662566"), None for a fraction."""
        return str(int(abs(self.value))) if self.whole_digits is not None else None

    @functools.cached_property
    def size_interval(self) -> Interval:
        """The same for the size of a change (its absolute value)."""
        return figure_interval(abs(self.value), self.qualifier, self.decimals, self.rounded)


@dataclass
class FigureIndex:
    by_measure: dict[tuple[str, str], list[Figure]] = field(default_factory=dict)  # (source_id, measure)
    totals: dict[tuple[str, str], str] = field(default_factory=dict)              # (source_id, dimension) -> total value
    measure_dims: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    measure_descriptions: dict[tuple[str, str], str] = field(default_factory=dict)
    measure_units: dict[tuple[str, str], str] = field(default_factory=dict)
    # (source_id, base measure, change kind) -> the change measures of that base
    changes: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    labels: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (source_id, dimension, value) -> label
    # ((source_id, measure), required dimension values) -> {id(figure): whether it has them}, for
    # that measure's figures (see `population_members`).
    _population: dict = field(default_factory=dict, compare=False, repr=False)
    _population_ids: dict = field(default_factory=dict, compare=False, repr=False)  # the same, those that have them
    # tuple of source ids -> (their level figures, those figures by value), see `_level_figures`.
    _levels: dict = field(default_factory=dict, compare=False, repr=False)
    # id(figure) -> (figure, `describe` of it): the words of a cell, written once per cell.
    _described: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, figures: list[dict], dimensions: list[dict], measures: list[dict]) -> "FigureIndex":
        index = cls()
        change_of = {(m["source_id"], m["measure"]): m.get("change_of") for m in measures}
        grouped: dict[tuple[str, str], list[Figure]] = defaultdict(list)
        for f in figures:
            start, end = as_date(f.get("period_start")), as_date(f.get("period_end"))
            is_change = bool(change_of.get((f["source_id"], f["measure"])))
            compared_from = start - (end - start) - dt.timedelta(days=1) if is_change and start and end else None
            grouped[(f["source_id"], f["measure"])].append(Figure(
                f["figure_id"], f["source_id"], f["measure"], tuple(sorted(parse_dims(f.get("dims")).items())),
                float(f["value"]), f.get("qualifier") or "none", bool(f.get("derived")),
                as_date(f.get("as_of_date")), start, end, f.get("decimals"), compared_from, f.get("unit") or "count", is_change,
            ))
        index.by_measure = dict(grouped)
        index.totals = {(d["source_id"], d["dimension"]): d["value"] for d in dimensions if d["is_total"]}
        index.labels = {(d["source_id"], d["dimension"], d["value"]): d.get("label") or d["value"] for d in dimensions}
        for m in measures:
            key = (m["source_id"], m["measure"])
            index.measure_dims[key] = tuple(x.strip() for x in (m.get("dimensions") or "").split(",") if x.strip())
            index.measure_descriptions[key] = m.get("description") or m["measure"].replace("_", " ")
            index.measure_units[key] = m.get("unit") or "count"
            if m.get("change_of"):
                index.changes.setdefault((m["source_id"], m["change_of"], m.get("change") or "difference"), []).append(m["measure"])
        return index

    def population_members(self, key: tuple[str, str], required: tuple[tuple[str, str | None], ...]) -> dict[int, bool]:
        """For each figure of measure `key` (by identity), whether every dimension of `required`
        has its value there: worked out once per measure and set of values, not per claim."""
        members = self._population.get((key, required))
        if members is None:
            members = self._population[(key, required)] = {
                id(f): has_values(f, required) for f in self.by_measure.get(key, ())}
        return members

    def population_ids(self, key: tuple[str, str], required: tuple[tuple[str, str | None], ...]) -> frozenset[int]:
        """The figures of `population_members` that have the values, by identity (kept per measure
        and set of values, as those are)."""
        found = self._population_ids.get((key, required))
        if found is None:
            found = self._population_ids[(key, required)] = frozenset(
                i for i, member in self.population_members(key, required).items() if member)
        return found

    def change_measures(self, source_ids: list[str], base: str, kind: str) -> list[str]:
        return list(dict.fromkeys(c for s in source_ids for c in self.changes.get((s, base, kind), [])))



# ---- the claim side --------------------------------------------------------------------------------

@dataclass(slots=True)
class ClaimFacts:
    """What reconciliation needs to know about a claim (a row of the claims table)."""
    phrase: str
    value: float
    qualifier: str
    kind: str
    unit: float
    significant_digits: int
    measure: str | None
    dims: dict[str, str | None]           # named values; None = not named
    dim_cues: dict[str, str | None]
    when_unnamed: dict[str, str]          # dimension -> "total" | "any"
    dim_bases: dict[str, str | None] = field(default_factory=dict)
    direction: str | None = None          # up / down: the number is the size of a change
    direction_cue: str | None = None
    date_first: dt.date | None = None
    date_last: dt.date | None = None
    date_phrase: str | None = None
    names_a_figure: bool = False          # written as a figure's name: "the 13,099 figure"


@dataclass(slots=True)
class Verdict:
    verdict: str
    figure_id: str | None
    figure_value: float | None
    relative_difference: float | None
    explanation: str


# Where a dimension's words were found that govern the number itself (not the rest of its sentence).
GOVERNING_BASES = ("before", "after")


def reconcile(claim: ClaimFacts, index: FigureIndex, source_ids: list[str], labels: dict[str, dict[str, str]]) -> Verdict:
    verdict = _reconcile_scoped(claim, index, source_ids, labels)
    if verdict.verdict in (WRONG_SCOPE, CONTRADICTED, NOT_IN_SOURCE):
        named = _distinctive_figure(claim, index, source_ids)
        if named is not None and claim.names_a_figure:
            return _verdict(EXACT, claim, named, _explain_match(EXACT, claim, named, index, labels)
                            + " (the text names the figure by its value)")
        if (named is not None and claim.measure in (None, named.measure) and _same_time(claim, named)
                and _conflicts_only_elsewhere(claim, named)):
            return _verdict(EXACT, claim, named, _explain_match(EXACT, claim, named, index, labels)
                            + " (a number this distinctive is a citation; the words naming another population are not the number's own)")
    return verdict


def _conflicts_only_elsewhere(claim: ClaimFacts, figure: Figure) -> bool:
    """Whether every dimension on which the claim's scope disagrees with `figure` was decided by
    words elsewhere in the sentence (its opening, another number's words), none by its own."""
    conflicting = [d for d, v in figure.dims if claim.dims.get(d) is not None and claim.dims[d] != v]
    return all(claim.dim_bases.get(d) not in GOVERNING_BASES for d in conflicting) and not (
        claim.direction is not None)


def one_digit_apart(a: float, b: float) -> str | None:
    """'a digit differs' or 'two digits swapped' when two whole numbers of the same length are a
    typo apart (662,556 for 662,566), else None."""
    if a != int(a) or b != int(b) or a == b:
        return None
    return digits_apart(str(int(abs(a))), str(int(abs(b))))


def digits_apart(x: str, y: str) -> str | None:
    """`one_digit_apart` of two different whole numbers, written as digits."""
    if len(x) != len(y):
        return None
    # (The differing places counted in C first: asked for every cell of a claim's length, and most
    # differ in more than two places.)
    count = sum(map(operator.ne, x, y))
    if count == 1:
        return "differs by one digit"
    if count != 2:
        return None
    diff = [i for i in range(len(x)) if x[i] != y[i]]
    if diff[1] == diff[0] + 1 and x[diff[0]] == y[diff[1]] and x[diff[1]] == y[diff[0]]:
        return "has two digits swapped"
    return None


def _pool_measures(claim: ClaimFacts, index: FigureIndex, source_ids: list[str]) -> list[str] | str:
    """The measures whose cells a claim is compared with, or the reason there are none: a number
    with a direction is a change of its measure (a difference for a count, a percent change for a
    percentage); a percentage without one is compared only with a measure that is a percentage."""
    if claim.direction is not None:
        kind = "percent" if claim.kind == "percent" else "difference"
        changes = index.change_measures(source_ids, claim.measure, kind)
        if changes:
            return changes
        if kind == "percent":
            return f"the cited source gives no percent change of {claim.measure.replace('_', ' ')}"
        # A source without changes of this count: the number is read as a level ("1,498 more with
        # pending charges" adds to a list; it is no change the source could state).
    if claim.kind == "percent":
        if any(index.measure_units.get((s, claim.measure)) == "percent" for s in source_ids):
            return [claim.measure]
        return f"'{claim.phrase}' is a percentage without a rise or fall, and the source's {claim.measure.replace('_', ' ')} is no percentage"
    return [claim.measure]


def _reconcile_scoped(claim: ClaimFacts, index: FigureIndex, source_ids: list[str], labels: dict[str, dict[str, str]]) -> Verdict:
    if claim.kind not in ("count", "percent"):
        return Verdict(NOT_IN_SOURCE, None, None, None, f"'{claim.phrase}' is {_KIND_WORDS.get(claim.kind, claim.kind)}, not a count the source gives")
    if claim.measure is None:
        measure = _distinctive_match(claim, index, source_ids)
        if measure is None:
            typo = _near_miss(claim, _level_figures(index, source_ids))
            if typo is not None:
                figure, how = typo
                return _verdict(CONTRADICTED, claim, figure,
                                f"'{claim.phrase}' {how} from the {describe(figure, index, labels)} {_fmt(figure.value)}: likely a typo of it")
            return Verdict(NOT_IN_SOURCE, None, None, None,
                           f"nothing near '{claim.phrase}' says it counts something the source measures")
        found = reconcile(replace(claim, measure=measure), index, source_ids, labels)
        return replace(found, explanation=found.explanation + " (no cue words: matched as the source's own number)")
    unlisted = [cue for d, v in claim.dims.items() if v == UNLISTED for cue in [claim.dim_cues.get(d)]]
    if unlisted:
        return Verdict(NOT_IN_SOURCE, None, None, None,
                       f"the text counts '{unlisted[0]}', which the source does not break out")
    measures = _pool_measures(claim, index, source_ids)
    if isinstance(measures, str):
        return Verdict(NOT_IN_SOURCE, None, None, None, measures)
    keys = [(s, m) for s in source_ids for m in measures]
    pool = [f for key in keys for f in index.by_measure.get(key, [])]
    if not pool:
        return Verdict(NOT_IN_SOURCE, None, None, None, f"the cited source has no {claim.measure.replace('_', ' ')} figures")
    interval = claim_interval(claim.value, claim.qualifier, claim.unit, claim.significant_digits, claim.kind == "percent")
    in_population = _population_ids(claim, index, keys)  # (every pool figure is a figure of one of these keys)
    # (An undated claim is about the source's time: every figure is of its time.)
    dated = pool if claim.date_first is None else [f for f in pool if _same_time(claim, f)]
    if not dated:
        elsewhere = [f for f in pool if id(f) in in_population and _fits(claim, interval, f)
                     and claim.significant_digits >= DISTINCTIVE_DIGITS]
        if elsewhere:
            best = min(elsewhere, key=lambda f: _rank(claim, f, index))
            return _verdict(WRONG_SCOPE, claim, best,
                            f"'{claim.phrase}' matches the {describe(best, index, labels)} {_fmt(best.value)}, but the text "
                            f"dates it to {claim.date_phrase} ({_span(claim)})")
        return Verdict(NOT_IN_SOURCE, None, None, None,
                       f"the text dates '{claim.phrase}' to {claim.date_phrase} ({_span(claim)}); the source's figures are for {_figure_time(pool[0])}")
    primary = [f for f in dated if id(f) in in_population]
    fits = [f for f in primary if _fits(claim, interval, f)]
    if fits:
        best = min(fits, key=lambda f: _rank(claim, f, index))
        verdict = EXACT if _same_value(claim, best) else ROUNDED
        return _verdict(verdict, claim, best, _explain_match(verdict, claim, best, index, labels))
    in_primary = {id(f) for f in primary}  # identity, not equality: comparing frozen dataclasses field by field is slow
    if claim.direction is None:  # (the same test written out: no change to sign, so both read the value as it is)
        value = claim.value
        others = [f for f in dated if id(f) not in in_primary and (value == f.value or interval.overlaps(f.value_interval))]
    else:
        others = [f for f in dated if id(f) not in in_primary and (_same_value(claim, f) or _fits(claim, interval, f))]
    nearest_named = min(primary, key=lambda f: (abs(abs(f.value) - claim.value), f.derived)) if primary else None
    if others:
        best = min(others, key=lambda f: (not _same_value(claim, f), f.derived, _dims_apart(claim, f), abs(abs(f.value) - claim.value)))
        return _verdict(WRONG_SCOPE, claim, best, _explain_wrong_scope(claim, best, nearest_named, index, labels))
    typo = _near_miss(claim, primary) or _near_miss(claim, dated)
    if typo is not None:
        figure, how = typo
        return _verdict(CONTRADICTED, claim, figure,
                        f"'{claim.phrase}' {how} from the {describe(figure, index, labels)} {_fmt(figure.value)}: likely a typo of it")
    # (Looked for only where it can decide: for a distinctive number, and in a dated claim's pool;
    # an undated claim's `dated` is its whole pool.)
    if claim.significant_digits >= DISTINCTIVE_DIGITS and dated is not pool:
        in_dated = {id(f) for f in dated}
        other_period = [f for f in pool if id(f) not in in_dated and id(f) in in_population and _same_value(claim, f)]
        if other_period:
            best = min(other_period, key=lambda f: f.derived)
            return _verdict(WRONG_SCOPE, claim, best, f"'{claim.phrase}' is the {describe(best, index, labels)} {_fmt(best.value)}, "
                            f"but the text dates it to {claim.date_phrase} ({_span(claim)})")
    if nearest_named is not None:
        if _implausible(claim, nearest_named):
            return Verdict(NOT_IN_SOURCE, None, None, None,
                           f"'{claim.phrase}' is far from every {describe(nearest_named, index, labels)} figure "
                           f"({_fmt(nearest_named.value)}): it counts something else")
        return _verdict(CONTRADICTED, claim, nearest_named, _explain_contradicted(claim, nearest_named, index, labels))
    return Verdict(NOT_IN_SOURCE, None, None, None,
                   f"the source gives no figure for the {_claim_population(claim, labels)} that '{claim.phrase}' counts")


def _near_miss(claim: ClaimFacts, figures: list[Figure]) -> tuple[Figure, str] | None:
    """The cell a distinctive, unhedged number is a typo of (one digit changed or two swapped)."""
    if claim.significant_digits < DISTINCTIVE_DIGITS or claim.qualifier != "none":
        return None
    if not figures or claim.value != int(claim.value):
        return None  # one_digit_apart compares whole numbers only
    # Only a cell with as many digits can be a digit apart (one_digit_apart's own first test); the
    # claim's digits are written out once, each cell's once per figure.
    written = str(int(abs(claim.value)))
    found = [(f, how) for f in figures if f.digits is not None and len(f.digits) == len(written) and f.digits != written
             and (how := digits_apart(written, f.digits))]
    return min(found, key=lambda fh: (fh[0].derived, fh[0].figure_id)) if found else None


def _implausible(claim: ClaimFacts, figure: Figure) -> bool:
    size = abs(figure.value)
    return claim.kind == "count" and size > 0 and (claim.value * IMPLAUSIBLE_RATIO < size or claim.value > size * IMPLAUSIBLE_RATIO)


def _distinctive_match(claim: ClaimFacts, index: FigureIndex, source_ids: list[str]) -> str | None:
    """The measure of a source figure that a cue-less claim equals exactly, if the number is distinctive."""
    figure = _distinctive_figure(claim, index, source_ids)
    return figure.measure if figure is not None else None


def _distinctive_figure(claim: ClaimFacts, index: FigureIndex, source_ids: list[str]) -> Figure | None:
    """The cited source's figure a distinctive, unhedged count equals exactly (a stated one first)."""
    if claim.significant_digits < DISTINCTIVE_DIGITS or claim.qualifier != "none" or claim.kind != "count":
        return None
    equal = _levels(index, source_ids)[1].get(claim.value)
    return min(equal, key=lambda f: (source_ids.index(f.source_id), f.derived, f.figure_id)) if equal else None


def _level_figures(index: FigureIndex, source_ids: list[str]) -> list[Figure]:
    """The cited sources' cells that are counts (no percentage, no change)."""
    return _levels(index, source_ids)[0]


def _levels(index: FigureIndex, source_ids: list[str]) -> tuple[list[Figure], dict[float, list[Figure]]]:
    """`_level_figures` and the same figures by value (each list in the same order), worked out
    once per set of cited sources (they depend on the index alone)."""
    key = tuple(source_ids)
    found = index._levels.get(key)
    if found is None:
        figures = [f for (sid, m), figures in index.by_measure.items() if sid in source_ids
                   and index.measure_units.get((sid, m), "count") != "percent" and not _is_change(index, sid, m) for f in figures]
        by_value: dict[float, list[Figure]] = {}
        for f in figures:
            by_value.setdefault(f.value, []).append(f)
        found = index._levels[key] = (figures, by_value)
    return found


def _is_change(index: FigureIndex, source_id: str, measure: str) -> bool:
    return any(measure in changes for (sid, _, _), changes in index.changes.items() if sid == source_id)


def _verdict(verdict: str, claim: ClaimFacts, figure: Figure, explanation: str) -> Verdict:
    signed = _signed(claim, figure)
    diff = (signed - figure.value) / abs(figure.value) if figure.value else None
    return Verdict(verdict, figure.figure_id, figure.value, diff, f"{explanation} [cell {figure.figure_id}]")


def _signed(claim: ClaimFacts, figure: Figure | None = None) -> float:
    """The claim's value with the sign its direction gives ("fell 3%" -> -3), when it is compared
    with a change (with any figure when none is given)."""
    if claim.direction == "down" and (figure is None or figure.is_change):
        return -claim.value
    if claim.direction == "either" and figure is not None and figure.is_change and figure.value < 0:
        return -claim.value
    return claim.value


def _same_value(claim: ClaimFacts, figure: Figure) -> bool:
    return _signed(claim, figure) == figure.value


def _fits(claim: ClaimFacts, interval: Interval, figure: Figure) -> bool:
    """Consistent by value and hedges; a text repeating the source's own number always is, even
    where the source hedges it ("893,600" for the source's "more than 893,600"). A change is
    compared by its size, and only with a change in the same direction."""
    if claim.direction is not None and figure.is_change:
        if claim.direction != "either" and figure.value != 0 and (figure.value < 0) != (claim.direction == "down"):
            return False
        size = abs(figure.value)
        return claim.value == size or interval.overlaps(figure.size_interval)
    return claim.value == figure.value or interval.overlaps(figure.value_interval)


def _same_time(claim: ClaimFacts, figure: Figure) -> bool:
    """A claim without a date is taken to be about the source's time. A change is about both the
    period it ends and the one it is compared with ("down 3% from 2022")."""
    if claim.date_first is None:
        return True
    if figure.as_of_date is not None:
        return claim.date_first <= figure.as_of_date <= claim.date_last
    if figure.period_start is not None and figure.period_end is not None:
        start = figure.compared_from or figure.period_start
        return overlap_share(claim.date_first, claim.date_last, start, figure.period_end) >= MIN_PERIOD_OVERLAP
    return True


def _names_population(claim: ClaimFacts, figure: Figure, index: FigureIndex) -> bool:
    """Whether a figure is of the population the text names: every named dimension equal, every
    unnamed one at its total (or free, when the source says an unnamed value is left open)."""
    dims = index.measure_dims.get((figure.source_id, figure.measure), ())
    values = figure.dim_map
    for dim in dims:
        named = claim.dims.get(dim)
        value = values.get(dim)
        if named is not None:
            if value != named:
                return False
        elif claim.when_unnamed.get(dim, "total") == "total" and value != index.totals.get((figure.source_id, dim)):
            return False
    return True


def _population_test(claim: ClaimFacts, index: FigureIndex):
    """`_names_population` for one claim against many figures: the value each dimension must have
    (the named one, or the total) is worked out once per source and measure."""
    wanted: dict[tuple[str, str], tuple[tuple, dict[int, bool]]] = {}

    def test(figure: Figure) -> bool:
        key = (figure.source_id, figure.measure)
        found = wanted.get(key)
        if found is None:
            required = _required_values(claim, index, key)
            found = wanted[key] = (required, index.population_members(key, required))
        required, members = found
        member = members.get(id(figure))
        return has_values(figure, required) if member is None else member  # (a figure from elsewhere: tested itself)

    return test


def _required_values(claim: ClaimFacts, index: FigureIndex, key: tuple[str, str]) -> tuple[tuple[str, str | None], ...]:
    """The value each dimension of measure `key` must have for a figure to be of the claim's
    population: the one the text names, else the dimension's total (unless left open)."""
    return tuple(
        (dim, claim.dims.get(dim) if claim.dims.get(dim) is not None else index.totals.get((key[0], dim)))
        for dim in index.measure_dims.get(key, ())
        if claim.dims.get(dim) is not None or claim.when_unnamed.get(dim, "total") == "total")


def _population_ids(claim: ClaimFacts, index: FigureIndex, keys: list[tuple[str, str]]) -> frozenset[int]:
    """The figures of measures `keys` (by identity) that `_population_test` takes for the claim, at
    once (the index's members per measure and required values; a set lookup per figure then)."""
    found = [index.population_ids(key, _required_values(claim, index, key)) for key in dict.fromkeys(keys) if index.by_measure.get(key)]
    return found[0] if len(found) == 1 else frozenset().union(*found)


def has_values(figure: Figure, required: tuple[tuple[str, str | None], ...]) -> bool:
    """Whether each (dimension, value) of `required` is the figure's (None: the dimension is absent)."""
    values = figure.dim_map
    return all(values.get(dim) == value for dim, value in required)


def _rank(claim: ClaimFacts, figure: Figure, index: FigureIndex) -> tuple:
    """Exact before rounded; a stated figure before a derived one (writers quote what the source
    states); then unnamed dimensions at their total; then the nearest."""
    at_total = sum(1 for d, v in figure.dims if claim.dims.get(d) is None and v != index.totals.get((figure.source_id, d)))
    return (not _same_value(claim, figure), figure.derived, at_total, abs(abs(figure.value) - claim.value))


def _dims_apart(claim: ClaimFacts, figure: Figure) -> int:
    return sum(1 for d, v in figure.dims if claim.dims.get(d) is not None and claim.dims[d] != v)


# ---- explanations ------------------------------------------------------------------------------------

def describe(figure: Figure, index: FigureIndex, labels: dict[str, dict[str, str]] | None = None) -> str:
    """A cell in words: its measure's description, then the dimension values not at their total
    (the index's labels; a pure function of the cell and the index, written once per cell)."""
    found = index._described.get(id(figure))
    if found is None or found[0] is not figure:  # (the figure is kept with it: its id is not reused)
        found = index._described[id(figure)] = (figure, _describe(figure, index))
    return found[1]


def _describe(figure: Figure, index: FigureIndex) -> str:
    key = (figure.source_id, figure.measure)
    description = index.measure_descriptions.get(key, figure.measure.replace("_", " "))
    lowered = description if description[1:2].isupper() else description[:1].lower() + description[1:]
    dims = index.measure_dims.get(key, ())
    words = [index.labels.get((figure.source_id, d, v), v) for d, v in figure.dims
             if d in dims and v is not None and v != index.totals.get((figure.source_id, d))]
    words = [w for w in words if w]
    text = f"{lowered}, {', '.join(words)}" if words else lowered
    return f"{text} ({_figure_time(figure)})"


def _claim_population(claim: ClaimFacts, labels: dict[str, dict[str, str]]) -> str:
    words = [labels.get(d, {}).get(v, v) for d, v in claim.dims.items() if v]
    return " ".join(w for w in words if w) or claim.measure.replace("_", " ")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,}"


def _cues(claim: ClaimFacts) -> str:
    said = [f"'{c}'" for d, c in claim.dim_cues.items() if c]
    return ", ".join(said)


def _explain_match(verdict: str, claim: ClaimFacts, figure: Figure, index: FigureIndex, labels) -> str:
    what = describe(figure, index, labels)
    hedge = "" if figure.qualifier in ("none", None) else f" (the source says {figure.qualifier.replace('_', ' ')} {_fmt(figure.value)})"
    if verdict == EXACT:
        return f"'{claim.phrase}' equals the {what} {_fmt(figure.value)}{hedge}"
    return f"'{claim.phrase}' is consistent with the {what} {_fmt(figure.value)}{hedge}"


def _explain_wrong_scope(claim: ClaimFacts, figure: Figure, named: Figure | None, index: FigureIndex, labels) -> str:
    said = _cues(claim)
    text = f"'{claim.phrase}' matches the {describe(figure, index, labels)} {_fmt(figure.value)}"
    if named is not None:
        text += f"; the text says {said or 'otherwise'}, and the {describe(named, index, labels)} is {_fmt(named.value)}"
    return text


def _explain_contradicted(claim: ClaimFacts, figure: Figure, index: FigureIndex, labels) -> str:
    diff = (_signed(claim, figure) - figure.value) / abs(figure.value) if figure.value else 0
    return (f"the text says {_cues(claim) or 'this population'}; the {describe(figure, index, labels)} is {_fmt(figure.value)}, "
            f"which '{claim.phrase}' does not fit ({diff:+.1%})")


def _span(claim: ClaimFacts) -> str:
    if claim.date_first == claim.date_last:
        return claim.date_first.isoformat()
    return f"{claim.date_first.isoformat()} to {claim.date_last.isoformat()}"


def _figure_time(figure: Figure) -> str:
    if figure.as_of_date:
        return f"as of {figure.as_of_date.isoformat()}"
    if figure.period_start and figure.period_end:
        return f"{figure.period_start.isoformat()} to {figure.period_end.isoformat()}"
    return "an unstated time"
