"""Date mentions ("on Friday", "Sept. 25", "earlier this week", "as of July 21", "between May 2023 and
the end of July", "Fiscal Year 2024") found in text and resolved against the publication date.

Pure: `find_mentions` reads text, `resolve` turns a mention into a date range given the
publication date, `events_near` says which of the source's dates a mention is about.
A bare weekday is the latest such day on or before publication; a month or day without a year is
the latest one on or before publication. Without a publication date, such mentions stay unresolved.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, replace

from factledger.claims.lexicon import Lexicon
from factledger.claims.prefilter import Prefiltered, by_identity, candidates, shared_scan
from factledger.claims.qualifiers import search_before

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
WEEKDAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_YEAR = r"(?:19|20)\d\d"

_MONTH_DATE = re.compile(
    rf"(?P<edge>(?:the\s+)?(?:end|beginning|start|middle)\s+of\s+|mid-|early\s+|late\s+)?"
    rf"(?:(?P<this>this|last|next)\s+)?"
    rf"\b(?P<month>{_MONTH})(?!\w)"
    rf"(?:\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?(?!\d))?"
    rf"(?:,?\s+(?:of\s+)?(?P<year>{_YEAR})\b|\s+of\s+(?P<rel>this|last|next)\s+year\b)?"
)
_FISCAL = re.compile(rf"\b(?:fiscal\s+year|FY)\s?(?P<fy>{_YEAR}|\d\d)\b", re.IGNORECASE)
_BARE_YEAR = re.compile(rf"(?<![\d,.$])\b(?P<year>{_YEAR})\b(?![,.]\d)")
_WEEKDAY = re.compile(r"\b(?:(?P<mod>last|this|next|past)\s+)?(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?\b")
_RELATIVE = re.compile(
    r"\b(?P<rel>(?:earlier|later)\s+this|this|last|next|past)\s+(?P<span>week|month|year)\b|\b(?P<day>yesterday|today|tonight)\b",
    re.IGNORECASE,
)
_RANGE_JOIN = re.compile(r"^\s*(?:and|through|thru|to|until|till|-)\s+$", re.IGNORECASE)
_RANGE_OPEN = re.compile(r"(?:^|\W)(?P<word>between|from|since)\s+$", re.IGNORECASE)
# The scans above start with a word boundary, an optional group or IGNORECASE letters, which the
# regex engine tries at every position: each is tried only where one of its first words starts
# (see prefilter.py; the same matches).
_MONTH_NAMES = _MONTH.removeprefix("(?:").removesuffix(r")\.?").split("|")
_MONTH_DATE_SCAN = Prefiltered(_MONTH_DATE, candidates(
    [("the", r"\s+(?:end|beginning|start|middle)\s")] + [(w, r"\s+of\s") for w in ("end", "beginning", "start", "middle")]
    + [("early", r"\s"), ("late", r"\s"), ("mid-", "")] + [(w, r"\s+[A-Z]") for w in ("this", "last", "next")]
    + [(m, "") for m in _MONTH_NAMES]))
_FISCAL_SCAN = Prefiltered(_FISCAL, candidates([("fiscal", r"\s"), ("fy", "")], ignorecase=True, word_start=True))
_BARE_YEAR_SCAN = Prefiltered(_BARE_YEAR, candidates([("19", ""), ("20", "")], word_start=True))
_WEEKDAY_SCAN = Prefiltered(_WEEKDAY, candidates(
    [(w, r"\s+[MTWFS]") for w in ("last", "this", "next", "past")]
    + [(d, "") for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")], word_start=True))
_RELATIVE_SCAN = Prefiltered(_RELATIVE, candidates(
    [(w, r"\s+this\s") for w in ("earlier", "later")] + [(w, r"\s+(?:week|month|year)") for w in ("this", "last", "next", "past")]
    + [(w, "") for w in ("yesterday", "today", "tonight")], ignorecase=True, word_start=True))
# "May" is also a verb: it is a month only with a day or year, or after a preposition.
_MAY_CONTEXT = re.compile(r"(?:^|\W)(?:in|since|from|between|through|until|by|of|early|late|mid-|end of|during)\s*$", re.IGNORECASE)


# (Not frozen: made for every number or sentence, and a frozen dataclass's __init__, which sets
# each field through object.__setattr__, costs about four times as much. Never changed once made.)
@dataclass(slots=True)
class DateMention:
    start: int               # normalised offsets
    end: int
    text: str
    parts: tuple             # what resolve() needs: (kind, fields...)
    marker: str | None = None  # "as of", "in", "since"... just before the mention
    end_parts: tuple | None = None  # a range's second end


@dataclass(slots=True)
class Resolved:
    first: dt.date
    last: dt.date
    granularity: str  # day, week, month, year, period


def find_mentions(text: str, lexicon: Lexicon) -> list[DateMention]:
    """Every date mention, ranges joined ("between May 2023 and the end of July" is one)."""
    found: list[DateMention] = []
    for m in _FISCAL_SCAN.finditer(text):
        found.append(DateMention(m.start(), m.end(), m.group(), ("fiscal_year", m.group("fy"))))
    for m in _MONTH_DATE_SCAN.finditer(text):
        if _taken(found, m.start("month")):
            continue
        month = m.group("month").rstrip(".")
        if month == "May" and not (m.group("day") or m.group("year") or m.group("rel") or m.group("edge")) and not _MAY_CONTEXT.search(text[max(0, m.start() - 12):m.start()]):
            continue
        if m.group("day") and int(m.group("day")) > 31:
            continue
        rel = m.group("rel") or m.group("this")
        found.append(DateMention(m.start(), m.end(), m.group(),
                                 ("month", MONTHS[month.lower()], m.group("day") and int(m.group("day")), m.group("year") and int(m.group("year")), rel)))
    for m in _BARE_YEAR_SCAN.finditer(text):
        if not _taken(found, m.start()):
            found.append(DateMention(m.start(), m.end(), m.group(), ("year", int(m.group("year")))))
    for m in _WEEKDAY_SCAN.finditer(text):
        if _taken(found, m.start()):
            continue
        found.append(DateMention(m.start(), m.end(), m.group(), ("weekday", WEEKDAYS[m.group("weekday").lower()], m.group("mod"))))
    for m in _RELATIVE_SCAN.finditer(text):
        if _taken(found, m.start()) or _taken(found, m.end() - 1):
            continue
        if m.group("day"):
            found.append(DateMention(m.start(), m.end(), m.group(), ("day_word", m.group("day").lower())))
        else:
            rel = " ".join(m.group("rel").lower().split())
            found.append(DateMention(m.start(), m.end(), m.group(), ("relative", rel, m.group("span").lower())))
    found.sort(key=lambda d: d.start)
    return _with_markers(text, _join_ranges(text, found), lexicon)


def _taken(found: list[DateMention], index: int) -> bool:
    return any(d.start <= index < d.end for d in found)


def _join_ranges(text: str, mentions: list[DateMention]) -> list[DateMention]:
    out: list[DateMention] = []
    i = 0
    while i < len(mentions):
        a = mentions[i]
        opener = _RANGE_OPEN.search(text[max(0, a.start - 10):a.start])  # (one search, read twice below)
        if i + 1 < len(mentions):
            b = mentions[i + 1]
            if _RANGE_JOIN.match(text[a.end:b.start]) and (opener or re.match(r"^\s*(?:through|thru|to|until|till|-)\s+$", text[a.end:b.start])):
                start = a.start - (len(opener.group()) - (1 if not opener.group()[0].isalpha() else 0)) if opener else a.start
                out.append(DateMention(start, b.end, text[start:b.end], a.parts, None, b.parts))
                i += 2
                continue
        if opener and opener.group("word").lower() == "since":
            out.append(replace(a, end_parts=("open",)))
        else:
            out.append(a)
        i += 1
    return out


def _with_markers(text: str, mentions: list[DateMention], lexicon: Lexicon) -> list[DateMention]:
    out = []
    for d in mentions:
        # (Searched as the hedges are, case-sensitively on the lower-cased window where it is ASCII:
        # the marker is read in lower case either way.)
        m = search_before(lexicon.claim_date_marker, text[max(0, d.start - 20):d.start])
        marker = " ".join(m.group().split()).strip(" ,(").lower() if m else None
        if marker and marker.endswith(" the"):
            marker = marker[:-4]
        # (Made directly: dataclasses.replace reads the fields afresh on every call.)
        out.append(DateMention(d.start, d.end, d.text, d.parts, marker, d.end_parts))
    return out


# ---- resolution -------------------------------------------------------------------------------

def resolve(mention: DateMention, published: dt.date | None, fiscal_start_month: int = 10) -> Resolved | None:
    """The date range a mention means, read from `published`; None when it cannot be known."""
    first = _resolve_parts(mention.parts, published, fiscal_start_month)
    if first is None:
        return None
    if mention.end_parts is None:
        return first
    if mention.end_parts == ("open",):
        return Resolved(first.first, published, "period") if published and published >= first.first else first
    last = _resolve_parts(mention.end_parts, published, fiscal_start_month, not_before=first.first)
    if last is None:
        return None
    return Resolved(first.first, last.last, "period")


def _resolve_parts(parts: tuple, published: dt.date | None, fiscal_start_month: int, not_before: dt.date | None = None) -> Resolved | None:
    kind = parts[0]
    if kind == "fiscal_year":
        year = int(parts[1]) if len(parts[1]) == 4 else 2000 + int(parts[1])
        start = dt.date(year - 1 if fiscal_start_month > 1 else year, fiscal_start_month, 1)
        return Resolved(start, _add_months(start, 12) - dt.timedelta(days=1), "year")
    if kind == "year":
        return Resolved(dt.date(parts[1], 1, 1), dt.date(parts[1], 12, 31), "year")
    if kind == "month":
        return _resolve_month(*parts[1:], published=published, not_before=not_before)
    if published is None:
        return None
    if kind == "weekday":
        return _resolve_weekday(parts[1], parts[2], published)
    if kind == "day_word":
        day = published - dt.timedelta(days=1) if parts[1] == "yesterday" else published
        return Resolved(day, day, "day")
    if kind == "relative":
        return _resolve_relative(parts[1], parts[2], published)
    return None


def _resolve_month(month: int, day: int | None, year: int | None, rel: str | None, *, published: dt.date | None, not_before: dt.date | None) -> Resolved | None:
    if year is None:
        if published is None:
            return None
        if rel == "this":
            year = published.year
        elif rel == "next":
            year = published.year + (1 if (month, day or 1) <= (published.month, published.day) else 0)
        elif rel == "last":
            year = published.year - 1
        else:
            # The latest such month (or day) on or before publication; after a range start, the
            # first one not before it.
            year = published.year if (month, day or 1) <= (published.month, published.day) else published.year - 1
            if not_before and dt.date(year, month, 1) < dt.date(not_before.year, not_before.month, 1):
                year += 1
    try:
        if day:
            d = dt.date(year, month, day)
            return Resolved(d, d, "day")
        first = dt.date(year, month, 1)
    except ValueError:
        return None
    return Resolved(first, _add_months(first, 1) - dt.timedelta(days=1), "month")


def _resolve_weekday(weekday: int, mod: str | None, published: dt.date) -> Resolved:
    back = (published.weekday() - weekday) % 7
    if mod == "last" and back == 0:
        back = 7
    if mod == "next":
        ahead = (weekday - published.weekday()) % 7 or 7
        day = published + dt.timedelta(days=ahead)
    else:
        day = published - dt.timedelta(days=back)
    return Resolved(day, day, "day")


def _resolve_relative(rel: str, span: str, published: dt.date) -> Resolved:
    if span == "week":
        monday = published - dt.timedelta(days=published.weekday())
        if rel in ("last", "past"):
            return Resolved(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1), "week")
        if rel == "next":
            return Resolved(monday + dt.timedelta(days=7), monday + dt.timedelta(days=13), "week")
        return Resolved(monday, published if rel == "earlier this" else monday + dt.timedelta(days=6), "week")
    if span == "month":
        first = published.replace(day=1)
        if rel in ("last", "past"):
            prev = _add_months(first, -1)
            return Resolved(prev, first - dt.timedelta(days=1), "month")
        if rel == "next":
            nxt = _add_months(first, 1)
            return Resolved(nxt, _add_months(nxt, 1) - dt.timedelta(days=1), "month")
        return Resolved(first, published if rel == "earlier this" else _add_months(first, 1) - dt.timedelta(days=1), "month")
    year = published.year - (1 if rel in ("last", "past") else 0) + (1 if rel == "next" else 0)
    last = published if rel == "earlier this" else dt.date(year, 12, 31)
    return Resolved(dt.date(year, 1, 1), last, "year")


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# ---- what a mention dates ----------------------------------------------------------------------

@dataclass(slots=True)
class EventCue:
    event: str   # a source date field (document_date...) or "reaction:<key>"
    cue: str
    distance: int


def event_words(sentence: str, lexicon: Lexicon) -> list[tuple[str, re.Match]]:
    """Every event word of a sentence, (event, match), per event in the lexicon's order: what
    `events_near` filters for each mention (read once per sentence when it has several)."""
    events, scanner = _event_scan(lexicon)
    found = scanner.matches(sentence)  # (one pass for all of them: the same matches)
    return [(event, m) for event, matches in zip(events, found) for m in matches]


@by_identity
def _event_scan(lexicon: Lexicon) -> tuple[tuple[str, ...], object]:
    """The event names and one shared scan of their patterns, per lexicon (not per sentence)."""
    patterns = {**lexicon.date_events, **{f"reaction:{k}": p for k, p in lexicon.reaction_events.items()}}
    return tuple(patterns), shared_scan(tuple(patterns.values()))


def events_near(sentence: str, start: int, end: int, lexicon: Lexicon,
                words: list[tuple[str, re.Match]] | None = None) -> list[EventCue]:
    """Event words of the sentence within reach of the mention at [start, end) (sentence offsets),
    nearest first. "as of" counts only right before the mention. `words`: the sentence's
    `event_words`, if already read."""
    cues: list[EventCue] = []
    for event, m in event_words(sentence, lexicon) if words is None else words:
        if m.start() < end and start < m.end():
            continue
        distance = start - m.end() if m.end() <= start else m.start() - end
        if event == "as_of_date" and not (m.end() <= start and distance <= 12):
            continue
        if distance <= lexicon.max_event_distance:
            cues.append(EventCue(event, m.group(), distance))
    return sorted(cues, key=lambda c: c.distance)


def is_claim_date(mention: DateMention, resolved: Resolved | None, events: list[EventCue]) -> bool:
    """Whether a mention dates the numbers near it (as of / in / period / a year), rather than an
    event such as the letter being sent."""
    if resolved is None:
        return False
    if mention.marker == "as of":
        return True
    if events and events[0].event != "as_of_date":
        return False
    return resolved.granularity in ("month", "year", "period")


def overlap_share(a_first: dt.date, a_last: dt.date, b_first: dt.date, b_last: dt.date) -> float:
    """Share of the shorter range covered by the overlap of two date ranges (0 when disjoint)."""
    first, last = max(a_first, b_first), min(a_last, b_last)
    if first > last:
        return 0.0
    shorter = min((a_last - a_first).days, (b_last - b_first).days) + 1
    return ((last - first).days + 1) / shorter


# ---- checking a mention against the source's dates -----------------------------------------------

@dataclass(slots=True)
class DateCheck:
    event: str | None
    expected: dt.date | None
    consistent: bool | None  # None: not checked (no event, not about the source, or unresolved)
    flagged: bool
    explanation: str


def expected_dates(events: list[str], source_dates: dict[str, dt.date | None], reactions: list[tuple[str, dt.date]]) -> list[tuple[str, dt.date]]:
    """The source dates the cued events stand for; a `reaction:<word>` event stands for every
    reaction whose description contains that word."""
    out = []
    for event in events:
        if event.startswith("reaction:"):
            word = event.split(":", 1)[1]
            out += [(f"reaction: {text}", day) for text, day in reactions if word in text.lower()]
        elif source_dates.get(event) is not None:
            out.append((event, source_dates[event]))
    return out


def check_mention(first: dt.date | None, last: dt.date | None, events: list[str], refers_to_source: bool,
                  source_dates: dict[str, dt.date | None], reactions: list[tuple[str, dt.date]]) -> DateCheck:
    """A mention is consistent when its range holds any of the source dates its sentence cues
    (lenient: "the letter was sent after Gonzales in March asked" cues both sending and asking).
    It is flagged only when resolved, cued, about the source, and consistent with none of them."""
    expected = expected_dates(events, source_dates, reactions)
    if first is None or not expected or not refers_to_source:
        reason = ("unresolved (no publication date to read it from)" if first is None
                  else "not tied to any of the source's dates" if not expected else "sentence is not about the source")
        return DateCheck(expected[0][0] if expected else None, expected[0][1] if expected else None, None, False, reason)
    for event, day in expected:
        if first <= day <= last:
            return DateCheck(event, day, True, False, f"{event.replace('_', ' ')} {day.isoformat()} falls in {_range_text(first, last)}")
    event, day = expected[0]
    return DateCheck(event, day, False, True,
                     f"the text puts the {event.replace('_', ' ')} in {_range_text(first, last)}; the source's is {day.isoformat()}")


def _range_text(first: dt.date, last: dt.date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


def as_date(value) -> dt.date | None:
    """A date from what a lake read returns for a DATE column: date, datetime, pandas Timestamp, or null (None, NaT)."""
    if value is None or value != value:  # NaT is not equal to itself
        return None
    if isinstance(value, dt.datetime):  # pandas' Timestamp included
        return value.date()
    return value
