"""Text normalised for matching, with a map back to offsets in the original body.

Matching runs on the normalised text (one hyphen, one space, straight quotes) so that cue words and
number patterns need one spelling each; every offset the pipeline stores is mapped back through
`Normalised.original`, so `body[start:end]` is always the phrase as written.
"""
from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from factledger.claims.prefilter import scan

# One-for-one replacements: these keep offsets unchanged.
_SAME_LENGTH = {
    "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u202f": " ", "\u2002": " ", "\u2003": " ",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2212": "-", "\ufe63": "-", "\uff0d": "-",
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2044": "/", "\uff0c": ",",
    **{chr(0xFF10 + d): str(d) for d in range(10)},  # full-width digits
}
# Replaced one after the other with str.replace (an `in` test skips those absent): many times
# faster than str.translate with a mapping, and the same because no replacement is itself replaced.
_REPLACEMENTS = tuple(_SAME_LENGTH.items())
assert not set(_SAME_LENGTH.values()) & set(_SAME_LENGTH)
# Invisible characters that only get in the way of matching: dropped, so offsets need a map.
_DROPPED_CHARS = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_DROPPED = re.compile(f"[{_DROPPED_CHARS}]")


@dataclass(frozen=True)
class Normalised:
    text: str
    # Original positions of the dropped characters, ascending; empty in the usual case.
    dropped: tuple[int, ...] = ()

    def original(self, index: int) -> int:
        """Offset in the original text of normalised offset `index` (0 <= index <= len(text))."""
        if not self.dropped:
            return index
        # Each dropped char before the target shifts it right by one; walk until stable.
        shift = 0
        while True:
            moved = bisect.bisect_right(self.dropped, index + shift)
            if moved == shift:
                return index + shift
            shift = moved

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if start == end:
            return self.original(start), self.original(start)
        # The end maps from the last character, so a dropped char right after a span stays outside it.
        return self.original(start), self.original(end - 1) + 1


@functools.lru_cache(maxsize=8)
def normalise(text: str) -> Normalised:
    """The text for matching (a pure function of it: extraction and the name check of one article
    share it)."""
    # (`in` tests first: scanning for the set is slower than looking for each of its characters)
    dropped = tuple(m.start() for m in _DROPPED.finditer(text)) if any(c in text for c in _DROPPED_CHARS) else ()
    kept = _DROPPED.sub("", text) if dropped else text
    return Normalised(_replace_same_length(kept), dropped)


def _replace_same_length(text: str) -> str:
    if text.isascii():
        return text
    # Only the characters the text has are replaced (its non-ASCII ones, read off its UTF-8 in C
    # loops): one `in` test per replacement would scan the text forty times.
    present = set(text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))
    for char, replacement in _REPLACEMENTS:
        if char in present:
            text = text.replace(char, replacement)
    return text


_ASCII_BYTES = bytes(range(128))


@functools.lru_cache(maxsize=16)
def lowered(text: str) -> str:
    """Lower case, same length (a character whose lower case is longer, like 'İ', is kept). A pure
    function of the text: the article's is asked for by several steps."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def lowered_part(text: str, low: str, start: int, end: int) -> str:
    """`lowered(text[start:end])`, cut from `low` (`lowered(text)`) where that is the same: lower
    case is a per-character mapping but for the capital sigma, whose lower case depends on the
    characters around it (final "ς")."""
    return low[start:end] if "\u03a3" not in text else lowered(text[start:end])


# (Not frozen: made for every number or sentence, and a frozen dataclass's __init__, which sets
# each field through object.__setattr__, costs about four times as much. Never changed once made.)
@dataclass(slots=True)
class Sentence:
    start: int  # offsets into the normalised text
    end: int
    text: str


_SENTENCE_END = re.compile(r"""[.!?]+["')\]]*(?=\s+["'(\[]?[A-Z0-9$])|\n+""")


def sentences(text: str, abbreviations: frozenset[str]) -> list[Sentence]:
    """Split at sentence punctuation followed by a capital (not after an abbreviation) and at
    newlines. Whitespace around sentences is trimmed; offsets are into `text`."""
    out, begin = [], 0
    for m in scan(_SENTENCE_END).finditer(text):  # (tried only at . ! ? and newlines: the same matches)
        if m.group().startswith((".",)) and _ends_with_abbreviation(text, m.start(), abbreviations):
            continue
        _append(out, text, begin, m.end())
        begin = m.end()
    _append(out, text, begin, len(text))
    return out


def _ends_with_abbreviation(text: str, dot: int, abbreviations: frozenset[str]) -> bool:
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "(\"'":
        word_start -= 1
    word = text[word_start:dot + 1]
    return word in abbreviations or bool(_INITIALISM.fullmatch(word))


_INITIALISM = re.compile(r"(?:[A-Z]\.)+")


def _append(out: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(start, end, text[start:end]))
