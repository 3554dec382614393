"""Variant spellings of the people a source names ("Gonzalez" for the letter's "Gonzales").

A capitalised word a small edit distance from a person's surname is that person misspelt only
with evidence: their first name just before it, a title just before it ("Rep.", "Mr."), or the
same spelling already tied to them earlier in the article. Without evidence it may be someone else.
"""
from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass

from factledger.claims.lexicon import Lexicon
from factledger.claims.prefilter import scan

_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z'\-]+\b")
_INITIALS = re.compile(r"^(?:[A-Z]\.\s*)+$")


@dataclass(frozen=True)
class NameVariant:
    start: int        # normalised offsets of the phrase (first name included when it is the evidence)
    end: int
    variant: str      # the misspelt word as written
    person: str       # the source's spelling of the whole name
    expected: str     # the source's spelling of that word
    distance: int
    evidence: str


@functools.lru_cache(maxsize=8192)
def levenshtein(a: str, b: str) -> int:
    """Edit distance (a pure function of the two words: the same pairs recur from article to article)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def capitalised_words(text: str, initials: frozenset[str]) -> list[re.Match]:
    """The matches of `_CAPITALISED.finditer(text)` that start with one of `initials` (capital
    letters), found by a scan for those words alone (most capitalised words start otherwise)."""
    if not initials:
        return []
    found = scan(_capitalised_from(initials)).finditer(text)
    # A word found after a "'" or "-" may sit inside a capitalised word the whole scan takes as one
    # ("O'Gonzales"): kept only where that scan starts a word.
    return [m for m in found if m.start() == 0 or text[m.start() - 1] not in "'-" or _starts_a_word(text, m.start())]


@functools.lru_cache(maxsize=64)
def _capitalised_from(initials: frozenset[str]) -> re.Pattern:
    """`_CAPITALISED` for words starting with one of `initials` (the same match at each such place)."""
    return re.compile(_CAPITALISED.pattern.replace("[A-Z]", "[" + "".join(sorted(initials)) + "]", 1))


def _starts_a_word(text: str, at: int) -> bool:
    """Whether `_CAPITALISED.finditer(text)` has a match starting at `at`: read from the start of
    the run of letters, "'" and "-" holding it (no match crosses into a run, so the scan is the
    same from there)."""
    start = at
    while start > 0 and (text[start - 1].isascii() and (text[start - 1].isalpha() or text[start - 1] in "'-")):
        start -= 1
    for m in _CAPITALISED.finditer(text, start):
        if m.start() >= at:
            return m.start() == at
    return False


def split_name(name: str) -> tuple[str | None, str]:
    """('Patrick', 'Lechleitner') for 'Patrick J. Lechleitner'; the first name is None when only initials."""
    words = [w for w in name.replace(",", " ").split() if w]
    first = words[0] if len(words) > 1 and not _INITIALS.match(words[0]) else None
    return first, words[-1]


def find_variants(text: str, people: list[str], lexicon: Lexicon) -> list[NameVariant]:
    found: list[NameVariant] = []
    evidenced: dict[str, str] = {}  # variant word -> person, once tied by first name or title
    parts = [(person, *split_name(person)) for person in people]  # once per article, not per word
    # A word can be a variant of a person only if it starts like their surname or first name.
    surname_initials = {surname[0].lower() for _, _, surname in parts}
    first_initials = {first[0] for _, first, _ in parts if first}
    # (A capitalised word starts with A-Z: those whose lower case is a surname's initial, or a first name's.)
    initials = {c for c in string.ascii_uppercase if c.lower() in surname_initials} | first_initials
    for m in capitalised_words(text, frozenset(initials)):
        word = m.group()
        for person, first, surname in parts:
            if word[0].lower() != surname[0].lower() and (not first or word[0] != first[0]):
                continue  # neither check below can pass
            variant = _surname_variant(text, m, word, person, first, surname, lexicon, evidenced)
            variant = variant or _first_name_variant(text, m, word, person, first, surname)
            if variant:
                found.append(variant)
                evidenced.setdefault(variant.variant, person)
                break
    return found


def _surname_variant(text, m, word, person, first, surname, lexicon, evidenced) -> NameVariant | None:
    if (word == surname or len(surname) < lexicon.min_surname_length or word[0].lower() != surname[0].lower()
            or abs(len(word) - len(surname)) > lexicon.max_surname_distance):
        return None
    distance = levenshtein(word.lower(), surname.lower())
    if not 0 < distance <= lexicon.max_surname_distance:
        return None
    before = text[max(0, m.start() - 40):m.start()]
    previous = re.search(r"([A-Z][a-zA-Z'\-]+)\s+(?:(?:[A-Z]\.\s*)+)?$", before)
    if first and previous and previous.group(1) == first:
        start = m.start() - (len(before) - previous.start())
        return NameVariant(start, m.end(), word, person, surname, distance, f"first name '{first}'")
    title = lexicon.name_titles.search(before)
    if title:
        return NameVariant(m.start(), m.end(), word, person, surname, distance, f"title '{title.group().strip()}'")
    if evidenced.get(word) == person:
        return NameVariant(m.start(), m.end(), word, person, surname, distance, "same spelling earlier in the article")
    return None


def _first_name_variant(text, m, word, person, first, surname) -> NameVariant | None:
    """'Toni Gonzales': the surname exact, the first name a near miss (not an initial or a prefix)."""
    if not first or word == first or abs(len(word) - len(first)) > 2 or word[0] != first[0] or len(word) < 4 or len(first) < 4 or first.startswith(word) or word.startswith(first):
        return None
    following = re.match(r"\s+(?:(?:[A-Z]\.\s*)+)?([A-Z][a-zA-Z'\-]+)", text[m.end():m.end() + 40])
    if not following or following.group(1) != surname:
        return None
    distance = levenshtein(word.lower(), first.lower())
    if not 0 < distance <= 2:
        return None
    return NameVariant(m.start(), m.end() + following.end(), word, person, first, distance, f"surname '{surname}' follows")
