"""A regex's `finditer`, tried only where a match can start.

Python's regex engine skips quickly through text only when a pattern starts with a plain character
or a character set; a pattern that starts with `\\b`, a look-behind, an optional group or
IGNORECASE letters is tried at every position, which is what made the date and number-word scans
slow. `Prefiltered` pairs such a pattern with a *candidate* pattern that does start with plain
characters and matches (one character long) at every position where the pattern can start a match,
and possibly more; the pattern itself is then tried only there. The matches are the same, because
`finditer` is "the leftmost match at or after the end of the previous one", and a match at a given
position does not depend on where the search began.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

# Characters other than the ASCII letter itself and its other case that IGNORECASE matches with an
# ASCII letter (tests/claims/test_text.py checks this against every code point).
_EXTRA_CASES = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}


class Prefiltered:
    """`pattern.finditer`, trying `pattern` only where `candidates` matches.

    `candidates` must match exactly one character, at every position where `pattern` can start a
    match (more positions are harmless, only slower); `pattern` must never match the empty string."""

    def __init__(self, pattern: re.Pattern, candidates: re.Pattern):
        self.pattern = pattern
        self.candidates = candidates

    def finditer(self, text: str) -> Iterator[re.Match]:
        match = self.pattern.match
        end = 0
        for candidate in self.candidates.finditer(text):
            start = candidate.start()
            if start < end:
                continue
            m = match(text, start)
            if m is not None:
                yield m
                end = m.end()


def case_variants(char: str, ignorecase: bool) -> list[str]:
    """The characters `char` matches: itself, or under IGNORECASE both cases and the odd extras."""
    if not ignorecase or not char.isalpha() or not char.isascii():
        return [char]
    low = char.lower()
    return [low, low.upper(), *_EXTRA_CASES.get(low, "")]


def candidates(starts: list[tuple[str, str]], ignorecase: bool = False, word_start: bool = False) -> re.Pattern:
    """A candidate pattern for a pattern whose every match begins with one of `starts`: (literal
    text, regex that must follow it). Each alternative starts with a plain character, so the engine
    skips to the first characters, and looks ahead for the rest. `word_start`: the match begins at
    a word boundary (the literals start with a word character), checked as "no word character
    before"; then the candidate starts with the set of first characters and that check, which
    rejects most positions before any look-ahead is tried (measured twice as fast)."""
    flags = "(?i:" if ignorecase else "(?:"
    if not word_start:
        alternatives = [re.escape(char) + f"(?={flags}{re.escape(literal[1:])}{tail}))"
                        for literal, tail in starts for char in case_variants(literal[0], ignorecase)]
        return re.compile("|".join(alternatives))
    rests: dict[str, list[str]] = {}  # first character (lower case under IGNORECASE) -> what may follow it
    for literal, tail in starts:
        first = literal[0].lower() if ignorecase else literal[0]
        rests.setdefault(first, []).append(re.escape(literal[1:]) + tail)
    chars = {first: "".join(re.escape(c) for c in case_variants(first, ignorecase)) for first in rests}
    branches = [f"(?<=[{chars[first]}]){flags}(?=" + "|".join(rest) + "))" for first, rest in rests.items()]
    return re.compile("[" + "".join(chars.values()) + r"](?<!\w.)(?:" + "|".join(branches) + ")")
