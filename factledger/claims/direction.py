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
    """`word_direction` with the lexicon's patterns (`memo`: `_memo(lexicon)`, if already looked
    up: callers asking for many words look it up once)."""
    return _word_facts(word, lexicon, _memo(lexicon) if memo is None else memo)[0]


def _word_facts(word: str, lexicon: Lexicon, memo: dict) -> tuple[str | None, bool, bool]:
    """What `near` asks of a word: the direction it says (`word_direction`), whether it is a
    level marker ("from", "to": the search stops there), and whether it is a gap word (not
    counted against the gap); kept in `memo` (the same words recur in every article, and one
    look-up replaces a pattern match, a call and a set test per word)."""
    found = memo.get(word)
    if found is None:
        if len(memo) > _MEMO_SIZE:
            memo.clear()
        directions = lexicon.directions
        found = memo[word] = (word_direction(word, directions[DOWN], directions[UP], directions[EITHER]),
                              lexicon.direction_level_markers.match(word) is not None,
                              word in lexicon.direction_gap_words)
    return found


# `_word_facts` by word, per lexicon (the same words recur in every article; the lru_cache of
# `word_direction` hashes its three compiled patterns on every call).
_memo = by_identity(lambda lexicon: {})
_MEMO_SIZE = 50_000


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
    gap, max_gap = 0, lexicon.direction_max_gap["before"]
    memo = _memo(lexicon)
    for word in reversed(words):
        found, level_marker, gap_word = memo.get(word) or _word_facts(word, lexicon, memo)
        if level_marker:
            break
        if found:
            return Direction(found, word, "before")
        if not gap_word:
            gap += 1
            if gap > max_gap:
                break
    cut = _CLAUSE_BREAK.search(after)  # (the first piece split() would give: up to the first break)
    head = after[:cut.start()] if cut else after
    for m in itertools.islice(_WORD.finditer(head), lexicon.direction_max_gap["after"] + 1):
        word = m.group()
        found = (memo.get(word) or _word_facts(word, lexicon, memo))[0]
        if found:
            return Direction(found, word, "after")
    return Direction(None)


def in_sentence(sentence: str, position: int, lexicon: Lexicon) -> Direction:
    """The direction the sentence's words give a percentage with none of its own: the nearest
    direction word before it, else the first after it ("Nebraska (25%) had the steepest decline
    ..., followed by Indiana (18%)")."""
    memo = _memo(lexicon)
    found = [(m.start(), d, m.group()) for m in _WORD.finditer(sentence) if (d := _word_direction(m.group(), lexicon, memo))]
    before = [f for f in found if f[0] < position]
    chosen = before[-1] if before else next(iter(f for f in found if f[0] > position), None)
    return Direction(chosen[1], chosen[2], "sentence") if chosen else Direction(None)
