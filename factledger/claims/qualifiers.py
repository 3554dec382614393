"""Hedges: the words around a number that say how exact it is ("more than", "nearly", "-plus")."""
from __future__ import annotations

from dataclasses import dataclass

from factledger.claims.lexicon import Lexicon

# How far back a hedge can start; the longest hedge in the lexicon is well under this.
_LOOKBEHIND = 40


@dataclass(frozen=True)
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
    for qualifier, pattern in lexicon.qualifiers_before.items():
        m = pattern.search(before)
        if m and (best is None or m.start() < best[1].start()):
            best = (qualifier, m)
    if best:
        qualifier, m = best
        cue = m.group().strip()
        return Hedge(qualifier, cue, window_start + m.start() + (len(m.group()) - len(m.group().lstrip())), number_end)
    after = text[number_end:number_end + _LOOKBEHIND]
    for qualifier, pattern in lexicon.qualifiers_after.items():
        m = pattern.match(after)
        if m:
            return Hedge(qualifier, m.group().strip(), number_start, number_end + m.end())
    return Hedge("none", None, number_start, number_end)
