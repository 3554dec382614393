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

import bisect
import functools
import re
from collections.abc import Iterator

# Characters other than the ASCII letter itself and its other case that IGNORECASE matches with an
# ASCII letter (tests/claims/test_text.py checks this against every code point).
_EXTRA_CASES = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}


def by_identity(function):
    """`function(obj)` cached by the identity of `obj` (which the cache holds, so its id is not
    reused): for compiled patterns and the lexicon's dicts of them, which are built once and whose
    hash (of each pattern's code: 3 us for the hedges' pattern) costs more than a lookup should."""
    memo: dict[int, tuple[object, object]] = {}

    @functools.wraps(function)
    def cached(obj):
        entry = memo.get(id(obj))
        if entry is None or entry[0] is not obj:
            entry = memo[id(obj)] = (obj, function(obj))
        return entry[1]

    return cached


class Prefiltered:
    """`pattern.finditer`, trying `pattern` only where `candidates` matches.

    `candidates` must match exactly one character, at every position where `pattern` can start a
    match (more positions are harmless, only slower); `pattern` must never match the empty string.
    On a text RE2 reads, RE2 finds the matches (`re2_matches`) or, with `started`, where they can
    start (`re2_started`): faster than Python's loop over frequent candidates (a month name's
    first letter, a number's first digit), slower over rare ones (a full stop)."""

    def __init__(self, pattern: re.Pattern, candidates: re.Pattern, started: bool = True):
        self.pattern = pattern
        self.candidates = candidates
        self.started = started

    def finditer(self, text: str) -> Iterator[re.Match]:
        found = re2_matches(self.pattern, text)
        if found is None and self.started:
            found = re2_started(self.pattern, text)
        return iter(found) if found is not None else self._candidates(text)

    def _candidates(self, text: str) -> Iterator[re.Match]:
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


# ---- candidates read off a pattern ------------------------------------------------------------------

from re import _constants as _sre  # noqa: E402
from re import _compiler  # noqa: E402
from re import _parser as _sre_parse  # noqa: E402

_STOP = ("stop", None)  # ends a run of literals (the end of a repeated group's body)
_MAX_STARTS = 400
_MAX_FIRST_LETTERS = 8


def _starts(items: list, bounded: bool) -> list[tuple[str, str, bool]] | None:
    """How every match of the parsed `items` begins: (first character as regex source, literal
    text after it, whether a word boundary stands before it), or None when that is not known."""
    for i, (op, av) in enumerate(items):
        rest = items[i + 1:]
        if op is _STOP[0]:
            continue
        if op is _sre.AT:
            bounded = bounded or av is _sre.AT_BOUNDARY
            continue
        if op in (_sre.ASSERT, _sre.ASSERT_NOT):
            continue  # zero width: ignoring it only admits more positions
        if op is _sre.LITERAL:
            tail = ""
            for next_op, next_av in rest:
                if next_op is not _sre.LITERAL:
                    break
                tail += re.escape(chr(next_av))
            char = chr(av)
            return [(re.escape(char), tail, bounded and (char.isalnum() or char == "_"))]
        if op is _sre.IN:
            if av == [(_sre.CATEGORY, _sre.CATEGORY_DIGIT)]:
                return [(r"\d", "", bounded)]
            if all(item_op is _sre.LITERAL for item_op, _ in av):
                return [(re.escape(chr(c)), "", bounded and (chr(c).isalnum() or chr(c) == "_")) for _, c in av]
            return None
        if op is _sre.BRANCH:
            out = []
            for alternative in av[1]:
                found = _starts(list(alternative) + rest, bounded)
                if found is None or len(out) + len(found) > _MAX_STARTS:
                    return None
                out += found
            return out
        if op is _sre.SUBPATTERN:
            _, add_flags, del_flags, sub = av
            if add_flags or del_flags:
                return None
            return _starts(list(sub) + rest, bounded)
        if op is _sre.ATOMIC_GROUP:
            return _starts(list(av) + rest, bounded)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, _, sub = av
            once = _starts(list(sub) + [_STOP] + rest, bounded)
            if once is None or low > 0:
                return once
            skipped = _starts(rest, bounded)
            return None if skipped is None or len(once) + len(skipped) > _MAX_STARTS else once + skipped
        return None  # any character, a negated set, a back reference...
    return None  # the pattern can match the empty string here


def derived_candidates(pattern: re.Pattern) -> re.Pattern | None:
    """A candidate pattern (see `Prefiltered`) read off `pattern`'s own structure, or None when its
    beginnings cannot be read (IGNORECASE, a first character from a broad class, an empty match)."""
    found = _derive(pattern)
    return found[0] if found else None


def _derive(pattern: re.Pattern) -> tuple[re.Pattern, bool, list[str]] | None:
    """(candidate pattern, whether every start is a word start, the first characters' sources)."""
    if pattern.flags & (re.IGNORECASE | re.LOCALE | re.ASCII) or not isinstance(pattern.pattern, str):
        return None  # (ASCII: "\\b" before a non-ASCII letter is not a word start)
    starts = _starts(list(_sre_parse.parse(pattern.pattern, pattern.flags)), False)
    if not starts:
        return None
    rests: dict[str, list[tuple[str, bool]]] = {}
    for first, tail, bounded in starts:
        rests.setdefault(first, []).append((tail, bounded))
    word_start = all(b for _, _, b in starts)
    branches = []
    for first, tails in rests.items():
        # A word boundary before every start with this first character: "no word character before".
        boundary = r"(?<!\w.)" if not word_start and all(b for _, b in tails) else ""
        ahead = f"(?={'|'.join(t for t, _ in tails)})" if all(t for t, _ in tails) else ""
        branches.append(f"(?<={first}){boundary}{ahead}")
    head = "[" + "".join(rests) + "]" + (r"(?<!\w.)" if word_start else "")
    return re.compile(head + "(?:" + "|".join(branches) + ")", re.DOTALL), word_start, list(rests)


def first_characters(pattern: re.Pattern) -> frozenset[str] | None:
    """The characters a match of `pattern` can start with, or None when that is not known."""
    if pattern.flags & (re.IGNORECASE | re.LOCALE | re.ASCII) or not isinstance(pattern.pattern, str):
        return None
    starts = _starts(list(_sre_parse.parse(pattern.pattern, pattern.flags)), False)
    if not starts or any(first == r"\d" for first, _, _ in starts):
        return None
    return frozenset(first[-1] for first, _, _ in starts)  # an escaped character is "\\" + it


def required_characters(pattern: re.Pattern) -> frozenset[str]:
    """Characters every match of `pattern` contains (a text without one of them has no match):
    the literals of its top-level sequence, outside alternatives and optional parts."""
    if pattern.flags & (re.IGNORECASE | re.LOCALE) or not isinstance(pattern.pattern, str):
        return frozenset()
    return frozenset(_required(list(_sre_parse.parse(pattern.pattern, pattern.flags))))


def _required(items: list) -> set[str]:
    out: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            out.add(chr(av))
        elif op is _sre.SUBPATTERN and not av[1] and not av[2]:
            out |= _required(list(av[3]))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT) and av[0] >= 1:
            out |= _required(list(av[2]))
        elif op is _sre.BRANCH:
            found = [_required(list(alternative)) for alternative in av[1]]
            out |= set.intersection(*found) if found else set()
    return out


class Scan:
    """A pattern's `finditer`, as fast as its structure allows: nothing when the text lacks a
    character every match needs, candidates read off the pattern where they can be
    (`derived_candidates`), else the plain pattern. Always the plain pattern's matches."""

    def __init__(self, pattern: re.Pattern):
        self.pattern = pattern
        self.required = tuple(sorted(required_characters(pattern)))
        found = _derive(pattern)
        # Candidates pay off when they are rare: characters other than letters, or word starts with
        # a few first letters (measured: a letter anywhere, "h" for "http", or word starts with 14
        # different first letters, as in a source's cue words, are slower than the plain pattern).
        letters = [first for first in found[2] if first.isalpha()] if found is not None else []
        if letters and (not found[1] or len(letters) > _MAX_FIRST_LETTERS):
            found = None
        found = found[0] if found else None
        self._scan = Prefiltered(pattern, found, started=False) if found is not None else pattern

    def possible(self, text: str) -> bool:
        return all(c in text for c in self.required)

    def finditer(self, text: str) -> Iterator[re.Match]:
        if not self.possible(text):
            return iter(())
        found = re2_matches(self.pattern, text)
        if found is None and self._scan is self.pattern:  # (candidates read off it are rare: Python's loop is cheaper)
            found = re2_started(self.pattern, text)
        return iter(found) if found is not None else self._scan.finditer(text)


@by_identity
def scan(pattern: re.Pattern) -> Scan:
    """The `Scan` of a compiled pattern (a pure function of it: built once per pattern)."""
    return Scan(pattern)


# ---- several patterns in one pass -------------------------------------------------------------------

_INLINE_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")
_FLAG_LETTERS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.VERBOSE, "x"))


def _is_word_char(char: str) -> bool:
    return re.match(r"\w", char) is not None


def _first_is_word(items: list) -> bool:
    """Whether every match of the parsed `items` begins with a word character."""
    for i, (op, av) in enumerate(items):
        rest = items[i + 1:]
        if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT, _STOP[0]):
            continue  # zero width: the first character is still to come
        if op is _sre.LITERAL:
            return _is_word_char(chr(av))
        if op is _sre.IN:
            for item_op, item in av:
                if item_op is _sre.LITERAL:
                    ok = _is_word_char(chr(item))
                elif item_op is _sre.RANGE:
                    ok = item[1] - item[0] < 1000 and all(_is_word_char(chr(c)) for c in range(item[0], item[1] + 1))
                elif item_op is _sre.CATEGORY:
                    ok = item in (_sre.CATEGORY_DIGIT, _sre.CATEGORY_WORD)
                else:
                    ok = False
                if not ok:
                    return False
            return True
        if op is _sre.BRANCH:
            return all(_first_is_word(list(alternative) + rest) for alternative in av[1])
        if op is _sre.SUBPATTERN:
            return _first_is_word(list(av[3]) + rest)
        if op is _sre.ATOMIC_GROUP:
            return _first_is_word(list(av) + rest)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, _, sub = av
            return _first_is_word(list(sub) + [_STOP] + rest) and (low > 0 or _first_is_word(rest))
        return False
    return False  # an empty match


def _after_non_word(items: list) -> bool:
    """Whether every match of the parsed `items` starts at the beginning of the text or right after
    a non-word character: at a word boundary before a word character, or after a look-behind that
    rules out a word character before."""
    for i, (op, av) in enumerate(items):
        rest = items[i + 1:]
        if op is _sre.AT:
            if av is _sre.AT_BOUNDARY and _first_is_word(rest):
                return True
            continue
        if op is _sre.ASSERT_NOT:
            direction, body = av
            if direction == -1 and len(body) == 1 and body[0][0] is _sre.IN and (_sre.CATEGORY, _sre.CATEGORY_WORD) in body[0][1]:
                return True
            continue
        if op is _sre.ASSERT:
            continue
        if op is _sre.BRANCH:
            return all(_after_non_word(list(alternative) + rest) for alternative in av[1])
        if op is _sre.SUBPATTERN:
            return _after_non_word(list(av[3]) + rest)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] == 0 and av[1] == 1:
            return _after_non_word(list(av[2]) + rest) and _after_non_word(rest)  # an optional part
        return False
    return False


def _embedded(pattern: re.Pattern) -> str | None:
    """`pattern` as a part of a larger regex (its flags scoped to it, its group names dropped), or
    None when it cannot be: bytes, ASCII or LOCALE, or references to its own groups."""
    if not isinstance(pattern.pattern, str) or pattern.flags & (re.ASCII | re.LOCALE):
        return None
    source = pattern.pattern
    while (inline := _INLINE_FLAGS.match(source)) is not None:  # global flags, already in pattern.flags
        source = source[inline.end():]
    if re.search(r"\\\d|\(\?P=|\\g<", source):
        return None
    source = re.sub(r"\(\?P<\w+>", "(", source)
    letters = "".join(letter for flag, letter in _FLAG_LETTERS if pattern.flags & flag)
    return f"(?{letters}:{source})" if letters else f"(?:{source})"


def combinable(pattern: re.Pattern) -> bool:
    """Whether `SharedScan` can find `pattern`'s matches in its one pass: every match starts at the
    beginning or after a non-word character, never matches the empty string, and embeds."""
    if _embedded(pattern) is None:
        return False
    parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    return parsed.getwidth()[0] > 0 and _after_non_word(list(parsed))


class Found:
    """A match found by `SharedScan`'s pass: where it is and its text, read as from a match object
    (`start`, `end`, `span`, `group()`), without re-running the pattern there for its groups."""

    __slots__ = ("string", "_start", "_end")

    def __init__(self, string: str, start: int, end: int):
        self.string, self._start, self._end = string, start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def span(self) -> tuple[int, int]:
        return self._start, self._end

    def group(self, index: int = 0) -> str:
        if index != 0:
            raise IndexError("a shared scan's match keeps no groups")
        return self.string[self._start:self._end]

    def __repr__(self) -> str:
        return f"<Found span={self.span()} match={self.group()!r}>"


# ---- RE2, where it finds exactly what Python's engine finds ----------------------------------------

try:  # google-re2: an automaton, many times faster than Python's backtracking on long alternations
    from re2 import _re2
except ImportError:  # pragma: no cover (a dependency; without it every pattern runs in Python)
    _re2 = None

# What RE2 reads as Python's engine does, on a text `Re2Text` accepts. Not: look-arounds, possessive
# repeats, atomic groups, back references, `$` and `\Z` (Python's `$` also matches before a final
# newline), conditionals.
_RE2_OPS = frozenset([_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN, _sre.BRANCH, _sre.SUBPATTERN,
                      _sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.AT])
_RE2_AT = frozenset([_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING, _sre.AT_BOUNDARY, _sre.AT_NON_BOUNDARY])
_RE2_SET_ITEMS = frozenset([_sre.LITERAL, _sre.RANGE, _sre.NEGATE, _sre.CATEGORY])
_RE2_CATEGORIES = frozenset([_sre.CATEGORY_DIGIT, _sre.CATEGORY_NOT_DIGIT, _sre.CATEGORY_SPACE, _sre.CATEGORY_NOT_SPACE,
                             _sre.CATEGORY_WORD, _sre.CATEGORY_NOT_WORD])
_RE2_FLAGS = ((re.IGNORECASE, "i"), (re.MULTILINE, "m"), (re.DOTALL, "s"))
_PYTHON_FLAGS = re.UNICODE | re.IGNORECASE | re.MULTILINE | re.DOTALL


def _re2_readable(items) -> bool:
    """Whether every operator of the parsed `items` means in RE2 what it means in Python."""
    for op, av in items:
        if op not in _RE2_OPS:
            return False
        if op is _sre.AT and av not in _RE2_AT:
            return False
        if op is _sre.IN and not all(item_op in _RE2_SET_ITEMS and (item_op is not _sre.CATEGORY or item in _RE2_CATEGORIES)
                                     for item_op, item in av):
            return False
        if op is _sre.BRANCH and not all(_re2_readable(alternative) for alternative in av[1]):
            return False
        if op is _sre.SUBPATTERN:
            _, add_flags, del_flags, sub = av
            if (add_flags | del_flags) & ~_PYTHON_FLAGS or not _re2_readable(sub):
                return False
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and not _re2_readable(av[2]):
            return False
    return True


def _shape(value, greedy: bool = False):
    """A parsed pattern as plain tuples, to compare two parses (`greedy`: possessive repeats read
    as greedy ones)."""
    if isinstance(value, _sre_parse.SubPattern):
        value = value.data
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and value[0] is _sre.POSSESSIVE_REPEAT and greedy:
            return (_sre.MAX_REPEAT, _shape(value[1], greedy))
        return tuple(_shape(v, greedy) for v in value)
    return value


def _finite(item: tuple, ignorecase: bool) -> set[str] | None:
    r"""The characters a one-character item (a literal or a set) matches, when they are a short list
    (None: a class such as \d, a negation, a wide range, a non-ASCII letter under IGNORECASE)."""
    op, av = item
    members = [(_sre.LITERAL, av)] if op is _sre.LITERAL else av if op is _sre.IN else [(None, None)]
    out: set[str] = set()
    for member_op, member in members:
        if member_op is _sre.LITERAL:
            codes = [member]
        elif member_op is _sre.RANGE and member[1] - member[0] < 1000:
            codes = range(member[0], member[1] + 1)
        else:
            return None
        for code in codes:
            char = chr(code)
            if ignorecase and char.isalpha() and not char.isascii():
                return None
            out.update(case_variants(char, ignorecase))
    return out


def _first_items(items: list) -> list[tuple] | None:
    """The one-character items (literals, sets) a match of the parsed `items` can begin with; None
    when that cannot be read off, or when the items can match the empty string."""
    out: list[tuple] = []
    for i, (op, av) in enumerate(items):
        rest = items[i + 1:]
        if op is _sre.AT:
            continue  # zero width
        if op in (_sre.LITERAL, _sre.IN):
            return out + [(op, av)]
        if op is _sre.BRANCH:
            for alternative in av[1]:
                found = _first_items(list(alternative) + rest)
                if found is None:
                    return None
                out += found
            return out
        if op is _sre.SUBPATTERN and not av[1] and not av[2]:
            found = _first_items(list(av[3]) + rest)
            return None if found is None else out + found
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            found = _first_items(list(av[2]))
            if found is None:
                return None
            out += found
            if av[0] > 0:
                return out
            continue  # optional: what follows may come first
        return None
    return None  # the items can match the empty string: what follows them is not known here


def _disjoint(a: tuple, b: tuple, flags: int) -> bool:
    """Whether no character matches both one-character items (one of them must list its characters)."""
    ignorecase = bool(flags & re.IGNORECASE)
    for listed, other in ((a, b), (b, a)):
        chars = _finite(listed, ignorecase)
        if chars is not None:
            one = _compiler.compile(_sre_parse.SubPattern(_sre_parse.State(), [other]), flags)
            return not any(one.fullmatch(c) for c in chars)
    return False


def _possessive_safe(items: list, flags: int, top: bool) -> bool:
    """Whether every possessive repeat of the parsed `items` matches what the greedy repeat
    matches: it repeats one character item, and what follows it in its sequence cannot begin with
    a character that item matches (so giving characters back could never let the rest match), or
    nothing follows it at all (the end of the pattern)."""
    for i, (op, av) in enumerate(items):
        if op is _sre.POSSESSIVE_REPEAT:
            body = list(av[2])
            if len(body) != 1 or body[0][0] not in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.IN):
                return False
            rest = items[i + 1:]
            if rest:
                follow = _first_items(rest)
                if follow is None or not all(_disjoint(body[0], item, flags) for item in follow):
                    return False
            elif not top:
                return False
        elif op is _sre.BRANCH:
            if not all(_possessive_safe(list(alternative), flags, False) for alternative in av[1]):
                return False
        elif op is _sre.SUBPATTERN:
            if not _possessive_safe(list(av[3]), flags, False):
                return False
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            if not _possessive_safe(list(av[2]), flags, False):
                return False
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT, _sre.ATOMIC_GROUP):
            return False  # (RE2 has none of these anyway)
    return True


def _greedy_source(source: str, flags: int) -> str | None:
    r"""`source` with its possessive repeats ("\d++") written greedy ("\\d+"), when that matches
    the same (`_possessive_safe`), for RE2, which has no possessive repeats; else None."""
    parsed = _sre_parse.parse(source, flags)
    if not _possessive_safe(list(parsed), flags, True):
        return None
    greedy = re.sub(r"([+*?}])\+", r"\1", source)
    # (A textual rewrite, checked: it must parse as the pattern with its repeats made greedy.)
    return greedy if _shape(_sre_parse.parse(greedy, flags)) == _shape(parsed, greedy=True) else None


@by_identity
def re2_pattern(pattern: re.Pattern):
    r"""`pattern` compiled by RE2, when RE2 finds exactly its `finditer` matches in every text
    `Re2Text` accepts (see `_re2_readable`; a match is never empty), else None. Python's `\w \d \s
    \b` are Unicode and RE2's ASCII: the same on such a text, which has no other letters, digits
    or spaces than ASCII ones."""
    source = _re2_source(pattern)
    return _re2_compiled(source) if source is not None else None


def _re2_source(pattern: re.Pattern) -> str | None:
    """`pattern` as RE2 source (its flags inline, possessive repeats greedy), when RE2 reads it as
    Python does (`re2_pattern`), else None."""
    if _re2 is None or not isinstance(pattern.pattern, str) or pattern.flags & ~_PYTHON_FLAGS:
        return None
    source = pattern.pattern
    # Read differently: "{,3}" (Python: up to 3 times; RE2: the characters), "[:alpha:]" (RE2: a class).
    if "{," in source or "[:" in source:
        return None
    parsed = _sre_parse.parse(source, pattern.flags)
    if _shape(parsed) != _shape(parsed, greedy=True):  # possessive repeats: RE2 has none
        source = _greedy_source(source, pattern.flags)
        if source is None:
            return None
        parsed = _sre_parse.parse(source, pattern.flags)
    if parsed.getwidth()[0] == 0 or not _re2_readable(list(parsed)):
        return None
    while (inline := _INLINE_FLAGS.match(source)) is not None:  # global flags, already in pattern.flags
        source = source[inline.end():]
    letters = "".join(letter for flag, letter in _RE2_FLAGS if pattern.flags & flag)
    return f"(?{letters}:{source})" if letters else f"(?:{source})"


def _re2_compiled(source: str):
    options = _re2.RE2.Options()
    options.log_errors = False
    compiled = _re2.RE2(source.encode(), options)
    return compiled if compiled.ok() else None


# ---- RE2 for where a match can start, Python's engine for the match itself --------------------------

# Python's classes as RE2 writes them (the same on a text `Re2Text` accepts).
_RE2_CLASSES = {_sre.CATEGORY_DIGIT: r"\d", _sre.CATEGORY_NOT_DIGIT: r"\D", _sre.CATEGORY_SPACE: r"\s",
                _sre.CATEGORY_NOT_SPACE: r"\S", _sre.CATEGORY_WORD: r"\w", _sre.CATEGORY_NOT_WORD: r"\W"}
_RE2_ANCHORS = {_sre.AT_BEGINNING: "^", _sre.AT_BEGINNING_STRING: r"\A", _sre.AT_BOUNDARY: r"\b",
                _sre.AT_NON_BOUNDARY: r"\B"}


def _re2_char(code: int) -> str:
    char = chr(code)
    return char if char.isascii() and (char.isalnum() or char == "_") else f"\\x{{{code:x}}}"


def _re2_wider(items) -> str | None:
    """The parsed `items` as RE2 source that matches wherever they match, and maybe elsewhere:
    look-arounds and the anchors RE2 reads otherwise (`$`, `\\Z`) left out (each only narrows where
    a match is), possessive repeats and atomic groups read as plain ones (they only rule out ways
    to match); None for what has no such form (back references, conditionals)."""
    out = []
    for op, av in items:
        if op is _sre.LITERAL:
            out.append(_re2_char(av))
        elif op is _sre.NOT_LITERAL:
            out.append(f"[^{_re2_char(av)}]")
        elif op is _sre.ANY:
            out.append(".")
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            continue
        elif op is _sre.AT:
            out.append(_RE2_ANCHORS.get(av, ""))
        elif op is _sre.IN:
            members = []
            for item_op, item in av:
                if item_op is _sre.NEGATE:
                    members.append("^")
                elif item_op is _sre.LITERAL:
                    members.append(_re2_char(item))
                elif item_op is _sre.RANGE:
                    members.append(f"{_re2_char(item[0])}-{_re2_char(item[1])}")
                elif item_op is _sre.CATEGORY and item in _RE2_CLASSES:
                    members.append(_RE2_CLASSES[item])
                else:
                    return None
            out.append("[" + "".join(members) + "]")
        elif op is _sre.BRANCH:
            alternatives = [_re2_wider(alternative) for alternative in av[1]]
            if None in alternatives:
                return None
            out.append("(?:" + "|".join(alternatives) + ")")
        elif op in (_sre.SUBPATTERN, _sre.ATOMIC_GROUP):
            add_flags, del_flags, sub = av[1:] if op is _sre.SUBPATTERN else (0, 0, av)
            inner = _re2_wider(sub)
            if inner is None or (add_flags | del_flags) & ~_PYTHON_FLAGS:
                return None
            on = "".join(letter for flag, letter in _RE2_FLAGS if add_flags & flag)
            off = "".join(letter for flag, letter in _RE2_FLAGS if del_flags & flag)
            out.append(f"(?{on}{'-' + off if off else ''}:{inner})")
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            low, high, sub = av
            inner = _re2_wider(sub)
            if inner is None:
                return None
            lazy = "?" if op is _sre.MIN_REPEAT else ""
            out.append(f"(?:{inner}){{{low},{'' if high is _sre.MAXREPEAT else high}}}{lazy}")
        else:
            return None
    return "".join(out)


@by_identity
def re2_starts(pattern: re.Pattern):
    """For a pattern RE2 does not read exactly (`re2_pattern` is None), an RE2 regex that matches
    at every position where `pattern` starts a match in a text `Re2Text` accepts, and maybe at
    others (`_re2_wider`): where a match can start, found by RE2. None when there is none, or when
    `pattern` can match the empty string."""
    if _re2 is None or not isinstance(pattern.pattern, str) or pattern.flags & ~_PYTHON_FLAGS:
        return None
    parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    source = _re2_wider(list(parsed)) if parsed.getwidth()[0] > 0 else None
    if source is None:
        return None
    letters = "".join(letter for flag, letter in _RE2_FLAGS if pattern.flags & flag)
    return _re2_compiled(f"(?{letters}:{source})" if letters else f"(?:{source})")


def re2_set(patterns: list[re.Pattern]):
    """One RE2 pass telling which of `patterns` (each one RE2 reads as Python does) match somewhere
    in a text (`Re2Text.present`), or None when RE2 cannot take them together."""
    sources = [_re2_source(p) for p in patterns]
    if not sources or None in sources:
        return None
    options = _re2.RE2.Options()
    options.log_errors = False
    found = _re2.Set(_re2.RE2.Anchor.UNANCHORED, options)
    # First a pattern that matches every text: RE2 answers "none" when it gives up (its automaton
    # out of memory), so an answer without it is no answer.
    if found.Add(rb"\z") != 0 or [found.Add(source.encode()) for source in sources] != list(range(1, len(sources) + 1)):
        return None
    return found if found.Compile() else None


# ASCII spaces RE2's \s leaves out (vertical tab, the separators \x1c-\x1f): a text with one is
# read by Python's engine.
_RE2_OTHER_SPACES = "\x0b\x1c\x1d\x1e\x1f"
_ASCII_BYTES = bytes(range(128))


class Re2Text:
    """A text as RE2 reads it (UTF-8), with the map from its byte offsets back to the text's."""

    __slots__ = ("data", "_ends", "_shifts", "_chars")

    def __init__(self, data: bytes, ends: list[int], shifts: list[int], chars: list[int]):
        self.data = data
        self._ends = ends      # byte offset after each non-ASCII character, ascending
        self._shifts = shifts  # bytes beyond one per character before such an offset (0 first)
        self._chars = chars    # text offset of each non-ASCII character, ascending

    def spans(self, regex, start: int = 0) -> list[tuple[int, int]]:
        """The spans (text offsets) of `regex`'s matches, leftmost first, each starting where the
        previous one ended, as `finditer` gives them (`start`: a byte offset before which it has
        none)."""
        data, match, anchor = self.data, regex.Match, _re2.RE2.Anchor.UNANCHORED
        out, pos, size = [], start, len(data)
        while pos <= size:
            start, end = match(anchor, data, pos, size)[0]
            if start < 0:
                break
            out.append((start, end))
            pos = end if end > start else end + 1  # (never: re2_pattern admits no empty match)
        if self._ends:
            ends, shifts = self._ends, self._shifts
            out = [(s - shifts[bisect.bisect_right(ends, s)], e - shifts[bisect.bisect_right(ends, e)]) for s, e in out]
        return out

    def confirmed(self, regex, pattern: re.Pattern, text: str, start: int = 0) -> list[re.Match]:
        """`pattern.finditer(text)` (this `text`), where `regex` matches at least wherever `pattern`
        starts a match (`re2_starts`): `pattern` is tried only at the leftmost place RE2 finds from
        where the previous match ended, or from just after a place where it did not match; each
        match is Python's own (`start`: a byte offset before which there is none)."""
        data, search, anchor, match = self.data, regex.Match, _re2.RE2.Anchor.UNANCHORED, pattern.match
        chars, ends, shifts = self._chars, self._ends, self._shifts
        out, pos, size = [], start, len(self.data)
        while pos < size:
            found = search(anchor, data, pos, size)[0][0]
            if found < 0:
                break
            at = found - shifts[bisect.bisect_right(ends, found)] if chars else found
            m = match(text, at)
            resume = m.end() if m is not None else at + 1  # (a text offset; RE2 reads bytes)
            if m is not None:
                out.append(m)
            pos = resume + shifts[bisect.bisect_left(chars, resume)] if chars else resume
        return out

    def first(self, regex) -> int | None:
        """The byte offset where `regex` first matches, or None."""
        found = regex.Match(_re2.RE2.Anchor.UNANCHORED, self.data, 0, len(self.data))[0][0]
        return found if found >= 0 else None

    def present(self, patterns) -> frozenset[int] | None:
        """The indices of the patterns of `patterns` (`re2_set`) that match somewhere in the text,
        or None when RE2 gave up."""
        found = patterns.Match(self.data)
        return frozenset(i - 1 for i in found if i) if found else None


@functools.lru_cache(maxsize=8)
def re2_text(text: str) -> Re2Text | None:
    r"""`text` for RE2, or None when RE2 would read one of its characters otherwise than Python:
    a non-ASCII letter, digit or space (Python's \w \d \s are Unicode, RE2's ASCII), an ASCII
    space RE2's \s leaves out, or a lone surrogate (no UTF-8). Other non-ASCII characters (dashes,
    symbols) are the same to both."""
    if _re2 is None or any(map(text.__contains__, _RE2_OTHER_SPACES)):
        return None
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if len(data) == len(text):
        return Re2Text(data, [], [0], [])
    others = data.translate(None, _ASCII_BYTES).decode()  # the non-ASCII characters, in a few C loops
    if any(c.isalnum() or c.isspace() for c in others):  # (isalnum: Python's \w, but for "_")
        return None
    at = []  # (position, extra bytes) of each non-ASCII character
    for char in set(others):
        extra, i = len(char.encode()) - 1, text.find(char)
        while i >= 0:
            at.append((i, extra))
            i = text.find(char, i + 1)
    at.sort()
    ends, shifts, shift = [], [0], 0
    for i, extra in at:
        shift += extra
        ends.append(i + 1 + shift)
        shifts.append(shift)
    return Re2Text(data, ends, shifts, [i for i, _ in at])


def re2_matches(pattern: re.Pattern, text: str) -> list[re.Match] | None:
    """`pattern.finditer(text)`, found by RE2 (`re2_pattern`, `re2_text`), or None when RE2 cannot
    find them. Each match is Python's own at the place RE2 found (its groups read there): the
    match `finditer` takes at a place is the one `match` finds there."""
    compiled = re2_pattern(pattern)
    readable = re2_text(text) if compiled is not None else None
    if readable is None:
        return None
    match, out = pattern.match, []
    for start, end in readable.spans(compiled):
        m = match(text, start)
        if m is None or m.end() != end:
            return None  # (the engines disagree: never seen; Python's scan is the reference)
        out.append(m)
    return out


def re2_started(pattern: re.Pattern, text: str) -> list[re.Match] | None:
    """`pattern.finditer(text)` for a pattern RE2 does not read exactly: Python's engine tries it
    only where RE2 finds a match can start (`re2_starts`), or None when RE2 cannot find those."""
    starts = re2_starts(pattern)
    readable = re2_text(text) if starts is not None else None
    return readable.confirmed(starts, pattern, text) if readable is not None else None


def found_in(pattern: re.Pattern, text: str) -> bool:
    """Whether `pattern.search(text)` finds a match (by RE2 where it reads both as Python does)."""
    compiled = re2_pattern(pattern)
    readable = re2_text(text) if compiled is not None else None
    if readable is None:
        return pattern.search(text) is not None
    return readable.first(compiled) is not None


# ---- one scan for several patterns ------------------------------------------------------------------

class _OnePass:
    """The shared pass of `SharedScan` for some of its patterns (all `combinable`)."""

    def __init__(self, patterns: tuple[re.Pattern, ...], indices: list[int]):
        self.patterns, self.indices = patterns, indices
        parts = [_embedded(patterns[i]) for i in indices]
        inner = [re.compile(part).groups for part in parts]
        self.groups, group = [], 1 + sum(inner)  # (the gate's own groups come first)
        for count in inner:
            self.groups.append(group)
            group += 1 + count
        self.regex = re.compile(r"\W(?=" + "|".join(parts) + ")" + "".join(f"(?=({part})|)" for part in parts)) if parts else None

    def run(self, text: str, out: list[list]) -> None:
        """Append each of its patterns' matches in `text` to `out` (indexed as `patterns`)."""
        if self.regex is None:
            return
        shared = [(out[i], group) for i, group in zip(self.indices, self.groups)]
        ends = [0] * len(shared)
        for k, i in enumerate(self.indices):
            m = self.patterns[i].match(text, 0)
            if m is not None:
                out[i].append(Found(text, 0, m.end()))
                ends[k] = m.end()
        for hit in self.regex.finditer(text):
            where = hit.end()
            spans = hit.regs
            for k, (found, group) in enumerate(shared):
                start, end = spans[group]
                if start >= 0 and where >= ends[k]:
                    found.append(Found(text, start, end))
                    ends[k] = end


class SharedScan:
    """`finditer` of several patterns over one text, each pattern's matches exactly as its own
    `finditer` gives them.

    A pattern RE2 finds exactly (`re2_pattern`) is scanned by RE2 on a text it reads as Python does
    (`re2_text`): a pass of an automaton, many times faster on the long alternations of cue words;
    one RE2 reads only widened (`re2_starts`) is tried only where RE2 finds it can start a match.
    The others, and all of them on a text RE2 cannot read, go by one Python pass:
    one regex stops after each non-word character where at least one of the patterns matches (a
    gate: all of them as alternatives in a look-ahead), and records in a group per pattern whether
    that pattern matches there (`(?=(p)|)`). Each pattern's own scan is then replayed in Python: a
    match is taken where the pattern matches and the previous match taken has ended, as `finditer`
    does ("the leftmost match at or after the end of the previous one"; a match at a position does
    not depend on where the search began); the pattern's group in the pass holds the match's span.
    Those matches are `Found` (span and text); patterns that can start elsewhere (`combinable`) are
    scanned on their own and give match objects. The last text's matches are kept, so callers
    asking for different patterns of the same text share the pass."""

    def __init__(self, patterns: tuple[re.Pattern, ...]):
        self.patterns = patterns
        self.re2 = [re2_pattern(p) for p in patterns]
        self.shared = [i for i, p in enumerate(patterns) if combinable(p)]
        self._passes = {False: _OnePass(patterns, self.shared),  # (by whether RE2 reads the text)
                        True: _OnePass(patterns, [i for i in self.shared if self.re2[i] is None and re2_starts(patterns[i]) is None])}
        # Which of the RE2 patterns match at all, in one pass: most match nowhere in most texts (the
        # non-claim patterns in an article, the event words in a sentence), and each scan costs a
        # pass. (Only those RE2 reads exactly: the others widened make its automaton much larger.)
        self._exact = [i for i, r in enumerate(self.re2) if r is not None]
        self._set = re2_set([patterns[i] for i in self._exact]) if len(self._exact) > 1 else None
        # The patterns scanned on their own (by whether RE2 reads the text): neither read by RE2
        # exactly nor in the Python pass.
        self._own = {readable: [i for i in range(len(patterns)) if not (readable and self.re2[i] is not None)
                                and i not in self._passes[readable].indices] for readable in (False, True)}
        self._last: tuple[str | None, list[list[re.Match]] | None] = (None, None)

    def __reduce__(self):
        # Pickled (a lexicon sent to worker processes) as its patterns: RE2's compiled regexes
        # cannot be pickled, and are compiled again where it is unpickled.
        return shared_scan, (self.patterns,)

    def matches(self, text: str) -> list[list[re.Match]]:
        """Each pattern's matches in `text`, in the order of `patterns`."""
        last_text, last = self._last
        if last is not None and last_text == text:
            return last
        readable = re2_text(text) if self._exact else None
        one_pass = self._passes[readable is not None]
        out: list[list[re.Match]] = [[] for _ in self.patterns]
        if readable is not None:
            # (Only the patterns present are visited: most texts have few of them, and this runs per sentence.)
            present = readable.present(self._set) if self._set is not None else None
            for i in self._exact if present is None else [self._exact[k] for k in present]:
                out[i] = [Found(text, start, end) for start, end in readable.spans(self.re2[i])]
        for i in self._own[readable is not None]:
            out[i] = list(scan(self.patterns[i]).finditer(text))
        one_pass.run(text, out)
        self._last = (text, out)
        return out


@functools.lru_cache(maxsize=256)
def shared_scan(patterns: tuple[re.Pattern, ...]) -> SharedScan:
    """The `SharedScan` of a tuple of compiled patterns (built once per tuple)."""
    return SharedScan(patterns)
