"""Hedges: the words around a number that say how exact it is ("more than", "nearly", "-plus")."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from factledger.claims.lexicon import Lexicon
from factledger.claims.prefilter import by_identity

# How far back a hedge can start; the longest hedge in the lexicon is well under this.
_LOOKBEHIND = 40


# (Not frozen: made for every number or sentence, and a frozen dataclass's __init__, which sets
# each field through object.__setattr__, costs about four times as much. Never changed once made.)
@dataclass(slots=True)
class Hedge:
    qualifier: str
    cue: str | None  # the words as written (normalised), None for no hedge
    start: int       # where the hedge starts (== number start when there is none)
    end: int         # where a suffix hedge ends (== number end when there is none)


def hedge_around(text: str, number_start: int, number_end: int, lexicon: Lexicon) -> Hedge:
    """The hedge before (preferred: "more than 425,000") or after ("425,000-plus") a number."""
    window_start = max(0, number_start - _LOOKBEHIND)
    before = text[window_start:number_start]
    best = None
    combined = _combined_for(lexicon.qualifiers_before)
    if combined is not None:
        pattern, qualifiers = combined
        m = search_before(pattern, before)
        best = (qualifiers[m.lastgroup], m) if m else None
    else:
        for qualifier, pattern in lexicon.qualifiers_before.items():
            m = pattern.search(before)
            if m and (best is None or m.start() < best[1].start()):
                best = (qualifier, m)
    if best:
        qualifier, m = best
        found = before[m.start():m.end()]  # (the words as written: `m` may be a match of the window in lower case)
        cue = found.strip()
        return Hedge(qualifier, cue, window_start + m.start() + (len(found) - len(found.lstrip())), number_end)
    after = text[number_end:number_end + _LOOKBEHIND]
    for qualifier, pattern in lexicon.qualifiers_after.items():
        m = pattern.match(after)
        if m:
            return Hedge(qualifier, m.group().strip(), number_start, number_end + m.end())
    return Hedge("none", None, number_start, number_end)


def search_before(pattern: re.Pattern, before: str) -> re.Match | None:
    """`pattern.search(before)` for an IGNORECASE pattern (the hedges, the date markers). On an
    ASCII window it is the same search of the window in lower case with the pattern in lower case
    and without IGNORECASE (on ASCII text IGNORECASE is exactly that), which is several times
    faster: the engine rejects an alternative by its first letter only when the pattern is
    case-sensitive. The match's offsets are the window's; its text is the lower case one."""
    lower = case_sensitive(pattern) if before.isascii() else None
    return lower.search(before.lower()) if lower is not None else pattern.search(before)


# Groups whose letters are syntax: named groups and references; other "(?" forms (flags such as
# "(?L)") and "\N{...}" names are not lowered: no case-sensitive form then.
_SYNTAX = re.compile(r"\\.|\(\?P[<=]\w+[>)]|[A-Z]")


@by_identity
def case_sensitive(pattern: re.Pattern) -> re.Pattern | None:
    """`pattern` (IGNORECASE) for lower-case ASCII text: its letters in lower case, without
    IGNORECASE; None when it is not IGNORECASE or cannot be written so."""
    source = pattern.pattern
    if not pattern.flags & re.IGNORECASE or "\\N" in source or re.search(r"\(\?(?![:=!]|<[=!]|P[<=])", source):
        return None
    lowered = _SYNTAX.sub(lambda m: m.group().lower() if len(m.group()) == 1 else m.group(), source)
    try:
        return re.compile(lowered, pattern.flags & ~re.IGNORECASE)
    except re.error:
        return None


# How lexicon.py writes each qualifier's "before" pattern: a start, the hedge words, an end.
_BEFORE_START, _BEFORE_END = r"(?:^|(?<=[^\w]))(?:", r")\s*$"


# (By the dict's identity: hashing its compiled patterns for the lru_cache cost more than the search.)
_combined_for = by_identity(lambda qualifiers: _combined_before(tuple(qualifiers.items())))


@functools.lru_cache(maxsize=16)
def _combined_before(items: tuple[tuple[str, re.Pattern], ...]) -> tuple[re.Pattern, dict[str, str]] | None:
    """One pattern for all the qualifiers' "before" patterns: the hedge whose match starts first
    wins, the first qualifier at the same start, which is what a search does with the qualifiers'
    words as alternatives in order (one search instead of one per qualifier). None when the
    patterns are not all written the same way."""
    if not items or len({p.flags for _, p in items}) != 1:
        return None
    alternatives, names = [], {}
    for i, (qualifier, pattern) in enumerate(items):
        source = pattern.pattern
        if not (source.startswith(_BEFORE_START) and source.endswith(_BEFORE_END)):
            return None
        names[f"q{i}"] = qualifier
        alternatives.append(f"(?P<q{i}>(?:{source[len(_BEFORE_START):-len(_BEFORE_END)]}))")
    try:
        combined = re.compile(_BEFORE_START + "|".join(alternatives) + _BEFORE_END, items[0][1].flags)
    except re.error:  # a hedge pattern naming a group q<i> of its own
        return None
    return combined, names
