"""Change direction: whether a number is the size of a decrease or an increase.

"fell 3%", "a decrease of 3%", "declines of at least 15%" (a direction word before the number,
with only small words between); "3,098 fewer deaths", "a 3.7% dip" (one just after). "decreased
from 84,181 to 81,083" names two levels, not a change: a "from"/"to" between the word and the
number stops the search. Pure functions over the sentence text; the words are the lexicon's.
"""
from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

from factledger.claims.lexicon import Lexicon
from factledger.claims.prefilter import by_identity

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE_BREAK = re.compile(r"[;:.!?\"]|,\s|\s[-\u2013\u2014]\s")

UP, DOWN, EITHER = "up", "down", "either"  # either: a change whose direction the words leave open


# (Not frozen: made for every number or sentence, and a frozen dataclass's __init__, which sets
# each field through object.__setattr__, costs about four times as much. Never changed once made.)
@dataclass(slots=True)
class Direction:
    value: str | None     # up, down, or None
    cue: str | None = None
    basis: str | None = None  # before / after / sentence


def _word_direction(word: str, lexicon: Lexicon, memo: dict | None = None) -> str | None:
    """`word_direction` with the lexicon's patterns (`memo`: `_memo(lexicon.directions)`, if
    already looked up: callers asking for many words look it up once)."""
    directions = lexicon.directions
    memo = _memo(directions) if memo is None else memo
    found = memo.get(word, _UNSEEN)
    if found is _UNSEEN:
        if len(memo) > _MEMO_SIZE:
            memo.clear()
        found = memo[word] = word_direction(word, directions[DOWN], directions[UP], directions[EITHER])
    return found


# `word_direction` by word, per lexicon's direction patterns (the same words recur in every
# article; the lru_cache of `word_direction` hashes its three compiled patterns on every call).
_memo = by_identity(lambda directions: {})
_MEMO_SIZE = 50_000
_UNSEEN = object()


@functools.lru_cache(maxsize=8192)
def word_direction(word: str, down: re.Pattern, up: re.Pattern, either: re.Pattern) -> str | None:
    """The direction one word says (the first of down, up, either whose pattern it is), or None:
    a pure function of the word and the patterns, cached (the same words recur in every article)."""
    for direction, pattern in ((DOWN, down), (UP, up), (EITHER, either)):
        if pattern.fullmatch(word):
            return direction
    return None


def near(before: str, after: str, lexicon: Lexicon) -> Direction:
    """The direction a number's own words give it: `before` is the lower-cased text before the
    phrase (hedge included), `after` the text after it, both cut at the neighbouring numbers."""
    tail = _CLAUSE_BREAK.split(before)[-1]
    words = _WORD.findall(tail)
    gap = 0
    memo = _memo(lexicon.directions)
    for word in reversed(words):
        if lexicon.direction_level_markers.match(word):
            break
        found = _word_direction(word, lexicon, memo)
        if found:
            return Direction(found, word, "before")
        if word not in lexicon.direction_gap_words:
            gap += 1
            if gap > lexicon.direction_max_gap["before"]:
                break
    cut = _CLAUSE_BREAK.search(after)  # (the first piece split() would give: up to the first break)
    head = after[:cut.start()] if cut else after
    for m in itertools.islice(_WORD.finditer(head), lexicon.direction_max_gap["after"] + 1):
        word = m.group()
        found = _word_direction(word, lexicon, memo)
        if found:
            return Direction(found, word, "after")
    return Direction(None)


def in_sentence(sentence: str, position: int, lexicon: Lexicon) -> Direction:
    """The direction the sentence's words give a percentage with none of its own: the nearest
    direction word before it, else the first after it ("Nebraska (25%) had the steepest decline
    ..., followed by Indiana (18%)")."""
    memo = _memo(lexicon.directions)
    found = [(m.start(), d, m.group()) for m in _WORD.finditer(sentence) if (d := _word_direction(m.group(), lexicon, memo))]
    before = [f for f in found if f[0] < position]
    chosen = before[-1] if before else next(iter(f for f in found if f[0] > position), None)
    return Direction(chosen[1], chosen[2], "sentence") if chosen else Direction(None)
