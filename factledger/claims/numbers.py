"""Number phrases: find digits ("425,431", "7.5 million", "$5", "10%") and number words ("thirteen
thousand", "four decades"), skip what is not a claim (dates, years, times, ordinals, citation
markers, list numbering, statute sections, codes, URLs), and read value, hedge and kind.

All offsets here are into the normalised text (see text.py).
"""
from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from decimal import Decimal

from factledger.claims.lexicon import Lexicon
from factledger.claims.prefilter import Prefiltered, by_identity, candidates, scan
from factledger.claims.qualifiers import case_sensitive, hedge_around
from factledger.claims.text import lowered

SCALES = {"thousand": 10**3, "k": 10**3, "million": 10**6, "m": 10**6, "mn": 10**6, "billion": 10**9, "bn": 10**9, "trillion": 10**12}
SMALL_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
WORD_SCALES = {"hundred": 100, "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}

_DIGITS = re.compile(
    # Thousands grouped by commas ("107,543") or by single spaces ("107 543", thin spaces normalised).
    r"(?<![\w.,$])(?P<cur>\$\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d{1,3}(?: \d{3})+(?!,\d)|\d+(?:\.\d+)?)(?![\d])(?!,\d)(?!\.\d)"
    r"(?:(?P<sep>\s*-?\s*)(?P<scale>thousand|million|billion|trillion|bn|mn|k|m)\b)?(?P<pct>\s?%)?",
    re.IGNORECASE,
)
# Tried only at a "$" or a digit with no word character, ".", "," or "$" before it: where a match
# can start (the candidates test that before-character after the one-character start, so the engine
# skips to "$" and digits).
_DIGITS_SCAN = Prefiltered(_DIGITS, re.compile(r"[$\d](?<![\w.,$].)"))
_NUMBER_WORD = "(?:" + "|".join(sorted([*SMALL_WORDS, *WORD_SCALES, "dozen"], key=len, reverse=True)) + ")"
_WORDS = re.compile(
    rf"\b(?:(?P<lead>a|an|half\s+a)\s+)?(?P<words>{_NUMBER_WORD}(?:(?:\s+and\s+|\s*-\s*|\s+){_NUMBER_WORD})*)\b",
    re.IGNORECASE,
)
# Tried only where a lead followed by a number word ("a million", "half a dozen") or a number word
# starts (prefilter.py): no number word starts with "a", so an "a" is a start only as a lead.
_WORDS_SCAN = Prefiltered(_WORDS, candidates(
    [("a", rf"\s+{_NUMBER_WORD}"), ("an", rf"\s+{_NUMBER_WORD}"), ("half", rf"\s+a\s+{_NUMBER_WORD}")]
    + [(w, "") for w in [*SMALL_WORDS, *WORD_SCALES, "dozen"]], ignorecase=True, word_start=True))
_YEAR = re.compile(r"^(?:1[89]|20)\d\d$")


# (Not frozen: made for every number or sentence, and a frozen dataclass's __init__, which sets
# each field through object.__setattr__, costs about four times as much. Never changed once made.)
@dataclass(slots=True)
class NumberPhrase:
    start: int          # phrase start, hedge included
    end: int            # phrase end, unit included for non-count kinds
    number_start: int   # the number itself
    number_end: int
    value: float
    qualifier: str
    qualifier_cue: str | None
    kind: str           # count, percent, money, duration, ratio, other
    kind_cue: str | None
    unit: float         # size of the last significant digit as written (1000 for "435,000")
    significant_digits: int


# Largest value a number phrase may have and still be a claim: beyond it (a 1 followed by 400
# zeros, "hundred hundred hundred ...") a float is inexact or infinite, and no statistic is that big.
MAX_CLAIM_VALUE = 10**15


def parse_digits(num: str, scale: str | None = None) -> tuple[float, float, int] | None:
    """'435,000' -> (435000, 1000, 3); '7.5' + 'million' -> (7500000, 100000, 2); None when the
    value is beyond MAX_CLAIM_VALUE (it is not a claim)."""
    plain = num.replace(",", "")
    factor = SCALES[scale.lower()] if scale else 1
    if len(plain.split(".")[0].lstrip("0")) > 16:  # cheap: no Decimal arithmetic on 5,000 digits
        return None
    # A whole number in ints (what Decimal gives too, exactly: at most 16 digits times a scale),
    # a decimal one in Decimal.
    value = Decimal(plain) * factor if "." in plain else int(plain) * factor
    if value > MAX_CLAIM_VALUE:
        return None
    if "." in plain:
        whole, frac = plain.split(".")
        unit = Decimal(1).scaleb(-len(frac)) * factor
        digits = (whole.lstrip("0") + frac).lstrip("0") or "0"
        sig = len(digits)
    else:
        stripped = plain.lstrip("0") or "0"
        zeros = len(stripped) - len(stripped.rstrip("0")) if stripped != "0" else 0
        unit = 10**zeros * factor
        sig = max(1, len(stripped) - zeros)
    return float(value), float(unit), sig


def parse_words(words: str, lead: str | None = None) -> float | None:
    """'thirteen thousand' -> 13000; 'two hundred and five' -> 205; 'a million' (lead 'a') -> 1e6."""
    tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t != "and"]
    total, current, seen = 0, 0, False
    for token in tokens:
        if token in SMALL_WORDS:
            current += SMALL_WORDS[token]
            seen = True
        elif token == "dozen":
            current = (current or 1) * 12
        elif token == "hundred":
            current = (current or 1) * 100
        elif token in WORD_SCALES:
            total += (current or 1) * WORD_SCALES[token]
            current = 0
        else:
            return None
        seen = True
        if total + current > MAX_CLAIM_VALUE:  # "hundred " * 155, "dozen dozen ...": not a claim
            return None
    if not seen:
        return None
    value = total + current
    if lead and lead.lower().startswith("half"):
        value = value / 2
    return float(value)


def unit_of(value: float) -> tuple[float, int]:
    """Size of the last significant digit of a whole number, and the count of significant digits."""
    if value != int(value) or value == 0:
        return 1.0, max(1, len(str(value).replace(".", "").strip("0")))
    digits = str(int(abs(value)))
    zeros = len(digits) - len(digits.rstrip("0"))
    return float(10**zeros), len(digits) - zeros


def masked_spans(text: str, lexicon: Lexicon, extra: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Spans whose numbers are not claims: the lexicon's non-claim patterns, vague quantities, and
    `extra` (date mentions). Ratios are handled by the finder, not masked."""
    low = lowered(text)
    spans = [m.span() for name, p in lexicon.non_claims.items() if name != "ratio" for m in lexicon.lowered_matches(p, low)]
    spans += [m.span() for m in lexicon.lowered_matches(lexicon.vague, low)]
    spans += list(extra)
    return sorted(spans)


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


class _SpanIndex:
    """`_overlaps` for many queries against the same spans: the spans starting before `end`
    (bisection on the sorted starts) overlap [start, end) when the furthest of their ends is past `start`."""

    def __init__(self, spans: list[tuple[int, int]]):
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.furthest = list(itertools.accumulate((e for _, e in ordered), max))

    def overlaps(self, start: int, end: int) -> bool:
        k = bisect.bisect_left(self.starts, end)
        return k > 0 and self.furthest[k - 1] > start


def find_numbers(text: str, lexicon: Lexicon, skip_spans: list[tuple[int, int]] = ()) -> list[NumberPhrase]:
    """Every number phrase of `text` that may be a claim, in order of appearance."""
    masks = masked_spans(text, lexicon, skip_spans)
    ratios = {m.start(): m for m in lexicon.lowered_matches(lexicon.non_claims["ratio"], lowered(text))} if "ratio" in lexicon.non_claims else {}
    ratio_seconds = [(m.end() - len(m.group().split()[-1]), m.end()) for m in ratios.values()]
    masked, seconds = _SpanIndex(masks), _SpanIndex(ratio_seconds)
    found: list[tuple[int, int, float, float, int, str | None]] = []  # start, end, value, unit, sig, currency
    for m in _DIGITS_SCAN.finditer(text):
        s, e = m.span("num")
        if masked.overlaps(s, e) or seconds.overlaps(s, e):
            continue
        num, scale = m.group("num").replace(" ", ""), m.group("scale")
        if scale and len(scale) <= 2 and m.group("sep").strip() == "" and m.group("sep"):
            scale = None  # "5 m" is five metres more often than five million; only "5m"/"5 million" scale
        if not scale and not m.group("cur") and "," not in num and "." not in num and _YEAR.match(num):
            continue  # a bare year
        parsed = parse_digits(num, scale)
        if parsed is None:
            continue  # beyond any real figure
        value, unit, sig = parsed
        end = m.end("scale") if scale else e
        if m.group("pct"):
            end = m.end("pct")
        found.append((m.start("cur") if m.group("cur") else s, end, value, unit, sig, "pct" if m.group("pct") else ("$" if m.group("cur") else None)))
    for m in _WORDS_SCAN.finditer(text):
        words, lead = m.group("words"), m.group("lead")
        tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t != "and"]
        if lead and not tokens[0] in WORD_SCALES and tokens[0] != "dozen":
            lead = None  # "a two-year" is not a number; "a million" is
        start = m.start() if lead else m.start("words")
        if not lead and len(tokens) == 1 and tokens[0] in lexicon.lone_words_skipped:
            continue
        if masked.overlaps(start, m.end()) or any(s <= start < e for s, e, *_ in found):
            continue
        value = parse_words(words, lead)
        if value is None:
            continue
        unit, sig = unit_of(value)
        found.append((start, m.end(), value, unit, sig, None))
    found.sort()
    return [_phrase(text, lexicon, ratios, *f) for f in found]


def _phrase(text: str, lexicon: Lexicon, ratios: dict, start: int, end: int, value: float, unit: float, sig: int, marker: str | None) -> NumberPhrase:
    hedge = hedge_around(text, start, end, lexicon)
    kind, kind_cue, phrase_end = _kind(text, start, end, lexicon, ratios, marker)
    return NumberPhrase(
        start=hedge.start, end=max(phrase_end, hedge.end), number_start=start, number_end=end, value=value,
        qualifier=hedge.qualifier, qualifier_cue=hedge.cue, kind=kind, kind_cue=kind_cue, unit=unit, significant_digits=sig,
    )


# Each unit kind with its pattern and that pattern's case-sensitive form, per lexicon (looked up once a number).
_units = by_identity(lambda units: [(kind, pattern, case_sensitive(pattern)) for kind, pattern in units.items()])


def _kind(text: str, start: int, end: int, lexicon: Lexicon, ratios: dict, marker: str | None) -> tuple[str, str | None, int]:
    """What the number is a number of, and where the phrase ends (units of non-counts included)."""
    if start in ratios:
        return "ratio", ratios[start].group(), ratios[start].end()
    if marker == "$":
        return "money", "$", end
    if marker == "pct":
        return "percent", "%", end
    after = text[end:end + 80]
    # On ASCII text an IGNORECASE pattern is matched as its lower-case form on the lower-case text
    # (qualifiers.case_sensitive: several times faster on the long unit alternations); the cue is
    # read from the text as written.
    folded = after.lower() if after.isascii() else None
    for kind, pattern, sensitive in _units(lexicon.units):
        m = sensitive.match(folded) if folded is not None and sensitive is not None else pattern.match(after)
        if m:
            return kind, after[:m.end()].strip(" -"), end if kind == "other" else end + m.end()
    return "count", None, end
