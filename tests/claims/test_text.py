from hypothesis import given, settings
from hypothesis import strategies as st

from factledger.claims import lexicon
from factledger.claims import text as text_module
from factledger.claims.text import normalise, sentences

LEX = lexicon.load()


def test_same_length_replacements_keep_offsets():
    body = "ICE\u2019s non\u2011detained docket\u2009\u2014 \u201c425,431\u201d"
    norm = normalise(body)
    assert norm.text == "ICE's non-detained docket \u2014 \"425,431\""
    assert len(norm.text) == len(body)
    start = norm.text.index("425,431")
    assert body[norm.original(start):norm.original(start + 7)] == "425,431"


@given(st.text(alphabet=st.sampled_from([*text_module._SAME_LENGTH, *"ab -'\"1,\u00ad\u00e9"]), max_size=60))
def test_replacements_are_a_per_character_mapping(body):
    """The replacements run one after the other; that is a per-character mapping (str.translate)."""
    kept = body.replace("\u00ad", "")
    assert normalise(body).text == kept.translate(str.maketrans(text_module._SAME_LENGTH))


def test_dropped_characters_map_back():
    body = "a\u00adb 12\u200b,345 c"
    norm = normalise(body)
    assert norm.text == "ab 12,345 c"
    s = norm.text.index("12,345")
    start, end = norm.original_span(s, s + 6)
    assert body[start:end] == "12\u200b,345"


@given(st.text(alphabet=st.sampled_from(list("ab 1,\u00ad\u200b\u2011\u2019x")), max_size=40))
def test_offset_map_points_at_the_same_visible_characters(body):
    norm = normalise(body)
    for i, ch in enumerate(norm.text):
        original = body[norm.original(i)]
        assert normalise(original).text == ch


def test_sentences_respect_abbreviations_and_newlines():
    text = "Rep. Tony Smith wrote on Sept. 25 to Mr. Jones. The U.S. Senate met.\nNext line here"
    got = [s.text for s in sentences(text, LEX.abbreviations)]
    assert got == ["Rep. Tony Smith wrote on Sept. 25 to Mr. Jones.", "The U.S. Senate met.", "Next line here"]
    for s in sentences(text, LEX.abbreviations):
        assert text[s.start:s.end] == s.text


def test_case_variants_are_every_character_ignorecase_matches():
    """prefilter.case_variants lists exactly the characters IGNORECASE matches with an ASCII letter."""
    import re
    import sys

    from factledger.claims.prefilter import case_variants

    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    for letter in "abcdefghijklmnopqrstuvwxyz":
        # A one-character pattern: the characters it finds in the string of every character are
        # those it fullmatches one by one (one C loop instead of a million Python calls).
        expected = set(re.compile(letter, re.IGNORECASE).findall(every_character))
        assert set(case_variants(letter, True)) == expected == set(case_variants(letter.upper(), True))
    assert case_variants("a", False) == ["a"] and case_variants("1", True) == ["1"]


def test_prefiltered_finditer_is_the_plain_finditer():
    import re

    from factledger.claims.prefilter import Prefiltered, candidates

    pattern = re.compile(r"\b(?:an?\s+)?(?:one|two)(?:-\s*one|\s+two)*\b", re.IGNORECASE)
    scan = Prefiltered(pattern, candidates([("a", r"\s"), ("an", r"\s"), ("one", ""), ("two", "")], ignorecase=True, word_start=True))
    for text in ["one two, a one-one ONE and An two", "gone two", "atwo a  one", "", "İ one ſ two"]:
        assert [m.span() for m in scan.finditer(text)] == [m.span() for m in pattern.finditer(text)]


def test_scan_is_the_plain_finditer_for_the_lexicon_patterns():
    """prefilter.Scan (required characters, candidates read off the pattern) finds what the
    plain pattern finds, for every non-claim pattern of the lexicon and some made-up ones."""
    import re

    from factledger.claims.prefilter import Scan, derived_candidates, required_characters

    texts = ["see https://x.org/a-1 or www.y.com, mail a.b@c.org; [1], [2, 3] section 236(c) and § 12.3, 5(a)(2)",
             "1. first\n  b) second (3) item at 10:30 a.m. or 9 p.m., the 21st, COVID-19, FY2024, 3/4, no. 5, 555-123-4567",
             "(555) 123-4567 and 3 in 4 people, 1 out of 5, tens of thousands, hundreds of millions, 2x2 x-1 _1",
             "١٢٣ 12th ٣rd", "", "no digits at all"]
    patterns = [*LEX.non_claims.values(), LEX.vague, re.compile(r"(?:ab)+c|x?\by"), re.compile(r"\b\d+|§+\s*\d"),
                re.compile(r"a*"), re.compile(r"(?i)abc"), re.compile(r"\b(?:foo|bar)\b|\(\d\)")]
    for pattern in patterns:
        for text in texts:
            assert [m.span() for m in Scan(pattern).finditer(text)] == [m.span() for m in pattern.finditer(text)], (pattern, text)
    assert derived_candidates(re.compile(r"a*")) is None and derived_candidates(re.compile(r"(?i)abc")) is None
    assert required_characters(re.compile(r"[^\s@]+@[^\s@]+\.\w+")) == {"@", "."}
    assert required_characters(re.compile(r"a(?:b|bc)d?")) == {"a", "b"}


@settings(deadline=None)  # (an example may compile the patterns' scans: slow on a busy machine)
@given(st.lists(st.sampled_from(list("ab c1(2)§.:-/@[]\n") + ["section ", "no. ", "tens of thousands", "in ", "of every "]),
                max_size=30).map("".join))
def test_scan_matches_on_made_up_text(text):
    from factledger.claims.prefilter import Scan

    for pattern in [*LEX.non_claims.values(), LEX.vague]:
        assert [m.span() for m in Scan(pattern).finditer(text)] == [m.span() for m in pattern.finditer(text)]


SHARED_EXTRA = [r"\b(?:foo|bar)\b", r"(?<![\w.])\d+(?:st|nd)?", r"(?i)\bfy\s?\d\d", r"\b(?P<n>\d+) (?:in|of) (\d+)\b",
                r"(?m)^\d+\.", r"x?\by", r"a*", r"\b(\w)\1"]


def _shared_patterns():
    import re

    return tuple(dict.fromkeys([*LEX.non_claims.values(), LEX.vague, *(re.compile(p) for p in SHARED_EXTRA)]))


def test_shared_scan_is_each_patterns_finditer():
    """prefilter.SharedScan (one pass for the patterns that start after a non-word character, the
    rest on their own) gives each pattern exactly its own finditer's matches, groups included."""
    import re

    from factledger.claims.prefilter import SharedScan, combinable

    patterns = _shared_patterns()
    shared = SharedScan(patterns)
    texts = ["see https://x.org/a-1 or www.y.com; [1] section 236(c) and § 12.3, 5(a)(2) foo bar foobar",
             "1. first\n2. second at 10:30 a.m., the 21st, COVID-19, FY2024, fy 24, 3/4, no. 5, 3 in 4, 10 of 12, aa",
             "21st 3 in 4 foo", "", "é1 _2 x1 ١٢٣ 12th tens of thousands"]
    for text in texts:
        for pattern, found in zip(patterns, shared.matches(text)):
            expected = list(pattern.finditer(text))
            assert [(m.span(), m.group()) for m in found] == [(m.span(), m.group()) for m in expected], (pattern, text)
    assert combinable(re.compile(r"\b(?:foo|bar)\b")) and combinable(re.compile(r"(?<![\w.])\d+"))
    assert combinable(re.compile(r"(?i)\bfy\s?\d\d"))
    assert not combinable(re.compile(r"x?\by")) and not combinable(re.compile(r"a*")) and not combinable(re.compile(r"\b(\w)\1"))
    assert not combinable(re.compile(r"(?m)^\d+\.")) and not combinable(re.compile(r"\b\(\d\)"))


@settings(deadline=None)  # (an example may compile the patterns' scans: slow on a busy machine)
@given(st.lists(st.sampled_from(list("ab c1(2)§.:-/@[]\né_") + ["section ", "no. ", "tens of thousands", "in ", "of every ",
                                                                  "foo", "bar ", "21st", "fy2", "10:30"]),
                max_size=30).map("".join))
def test_shared_scan_on_made_up_text(text):
    from factledger.claims.prefilter import SharedScan

    patterns = _shared_patterns()
    for pattern, found in zip(patterns, SharedScan(patterns).matches(text)):
        assert [m.span() for m in found] == [m.span() for m in pattern.finditer(text)], pattern


def test_lowered_matches_are_the_lexicons_finditer():
    """Lexicon.lowered_matches: the non-claim, vague and cue patterns of an article's lexicon,
    found in one shared pass, as each pattern's own finditer."""
    text = "about 13,099 were convicted, not detained, released on the 3rd at 10:30; tens of thousands, 1 in 5, fy2024"
    for pattern in [*LEX.non_claims.values(), LEX.vague]:
        assert [m.span() for m in LEX.lowered_matches(pattern, text)] == [m.span() for m in pattern.finditer(text)]


# ---- RE2 where it finds what Python's engine finds ---------------------------------------------------

RE2_TEXTS = ["see https://x.org/a-1 \u2014 www.y.com; [1] section 236(c) and \u00a7 12.3, 5(a)(2) foo bar foobar",
             "1. first\n2. second at 10:30 a.m., the 21st, COVID-19, FY2024 \u00a9 fy 24, 3/4, no. 5, 3 in 4, 10 of 12",
             "\u2014\u2014a1 \U0001F600b2\u00a9 tens of thousands\u2014hundreds of millions 12th", "", "\u2014"]


def test_re2_reads_a_text_as_python_does_or_not_at_all():
    """prefilter.re2_text: a text with a non-ASCII letter, digit or space, an ASCII space RE2's
    \\s leaves out, or a lone surrogate is left to Python's engine; dashes and symbols are not."""
    from factledger.claims.prefilter import re2_text

    for text in ["caf\u00e9", "x\u0663", "a\u2028b", "a\u3000b", "a\x0bb", "a\x1cb", "a\ud800", "\u00b2"]:
        assert re2_text(text) is None, text
    for text in RE2_TEXTS:
        assert re2_text(text) is not None, text


def test_re2_takes_only_patterns_it_reads_as_python_does():
    import re

    from factledger.claims.prefilter import re2_pattern

    for source in [r"(?<![\w.])\d+", r"\d+(?=%)", r"a$", r"a\Z", r"a{,3}", r"(\w)\1", r"a*", r"x?",
                   r"(?>ab)", r"a++a", r"(?:a++|b)c", r"\w++\d", r"(?x) a b"]:
        assert re2_pattern(re.compile(source)) is None, source
    for source in [r"\b(?:foo|bar)\b", r"(?i)\bfy\s?\d\d", r"(?m)^\d+\.", r"\d++\(", r"[a-z]++-?\d", r"[^a]++a", r"\d++"]:
        assert re2_pattern(re.compile(source)) is not None, source


def test_possessive_repeats_are_read_greedy_only_where_that_matches_the_same():
    import re

    from factledger.claims.prefilter import _greedy_source

    assert _greedy_source(r"\d++\([a-z0-9]+\)", 0) == r"\d+\([a-z0-9]+\)"
    assert _greedy_source(r"\b(?:[A-Za-z]++-?\d+|\d++(?:[A-Za-z]+|/\d+))", 0) == r"\b(?:[A-Za-z]+-?\d+|\d+(?:[A-Za-z]+|/\d+))"
    assert _greedy_source(r"(?i)q++Q", re.IGNORECASE) is None  # "Q" is one of the q's under IGNORECASE
    assert _greedy_source(r"[a-z]++-?x", 0) is None  # "x" could be given back


def _re2_patterns():
    import re

    from factledger.claims.prefilter import re2_pattern

    patterns = [*LEX.non_claims.values(), LEX.vague, *LEX.date_events.values(), *LEX.reaction_events.values(),
                *(re.compile(p) for p in SHARED_EXTRA), re.compile(r"\d++\(|[a-z]++-?\d|\W"), re.compile(r"[^\s@]+|.")]
    return [(p, re2_pattern(p)) for p in patterns if re2_pattern(p) is not None]


def test_re2_finds_each_patterns_finditer():
    """On a text RE2 reads (dashes, symbols, emoji: several bytes each in UTF-8), every pattern
    RE2 takes gives exactly Python's finditer spans."""
    from factledger.claims.prefilter import re2_text

    assert len(_re2_patterns()) >= 12
    for text in RE2_TEXTS:
        readable = re2_text(text)
        for pattern, compiled in _re2_patterns():
            assert readable.spans(compiled) == [m.span() for m in pattern.finditer(text)], (pattern, text)


def _made_up_text(characters: str, words: list[str]):
    """Texts of up to 30 pieces, each a character or a word of these."""
    return st.lists(st.sampled_from(list(characters) + words), max_size=30).map("".join)


def _reads_as_python(text: str, found: list, spans) -> None:
    """RE2's reading of `text` gives, for each (pattern, its RE2 form) of `found`, the spans
    `spans(readable, re2_form, pattern)` equal to the pattern's own finditer."""
    from factledger.claims.prefilter import re2_text

    readable = re2_text(text)
    assert readable is not None
    for pattern, form in found:
        assert spans(readable, form, pattern) == [m.span() for m in pattern.finditer(text)], pattern


@settings(deadline=None)  # (an example may compile the patterns' scans: slow on a busy machine)
@given(_made_up_text("ab cS1(2)\u00a7.:-/@[]\n\u2014\u00a9\U0001F600\t_",
                     ["section ", "no. ", "tens of thousands", "in ", "sent ", "as of ", "fy2", "10:30", "x1-"]))
def test_re2_on_made_up_text(text):
    _reads_as_python(text, _re2_patterns(), lambda readable, compiled, _: readable.spans(compiled))


# Patterns RE2 does not read exactly: look-arounds, "$", possessive repeats, atomic groups, lazy repeats.
WIDER_EXTRA = [r"(?<![\w.])\d+(?!,\d)", r"(?m)^[ \t]*(?:\d+|[a-z])[.)](?=\s)", r"a$|b\Z", r"(?>ab|a)c", r"\w++\d",
               r"(?i)(?<!x)se(?=c)", r"\d+?(?!\d)", r"(?<=\W)[^\s@]+@\w+"]


def _patterns_read_by_their_starts():
    import re

    from factledger.claims import dates, numbers
    from factledger.claims.prefilter import re2_pattern, re2_starts

    patterns = [*LEX.non_claims.values(), numbers._DIGITS, numbers._WORDS, dates._MONTH_DATE, dates._BARE_YEAR,
                LEX.claim_date_marker, LEX.restrictor, *(re.compile(p) for p in WIDER_EXTRA)]
    return [(p, re2_starts(p)) for p in patterns if re2_pattern(p) is None]


def test_re2_finds_where_matches_start_for_the_patterns_it_does_not_read():
    """prefilter.re2_starts: the pattern widened (look-arounds and "$" left out, possessive and
    atomic parts read as plain ones) matches wherever the pattern starts a match; trying the
    pattern only there (Re2Text.confirmed) gives exactly its finditer."""
    import re

    from factledger.claims.prefilter import re2_starts, re2_text

    found = _patterns_read_by_their_starts()
    assert all(starts is not None for _, starts in found) and len(found) >= 12
    assert re2_starts(re.compile(r"(\w)\1")) is None and re2_starts(re.compile(r"a*")) is None
    for text in [*RE2_TEXTS, "May 5, 2024 and 1999. 2,345 or 12 000 people; (a) x\n 3) 4. 5.6", "ab abc sec\u2014sec b\n"]:
        readable = re2_text(text)
        for pattern, starts in found:
            assert [m.span() for m in readable.confirmed(starts, pattern, text)] == [m.span() for m in pattern.finditer(text)], (pattern, text)


@settings(deadline=None)  # (an example may compile the patterns' scans: slow on a busy machine)
@given(_made_up_text("ab cS1(2)\u00a7.:-/@[]\n\u2014\u00a9\U0001F600\t_,$%",
                     ["section ", "May ", "1999", "12 000", "2,345", "sec", "x1-", "3) ", "(a)"]))
def test_re2_starts_on_made_up_text(text):
    _reads_as_python(text, _patterns_read_by_their_starts(),
                     lambda readable, starts, pattern: [m.span() for m in readable.confirmed(starts, pattern, text)])


def test_found_in_is_search():
    from factledger.claims.prefilter import found_in

    patterns = [LEX.source_refs, *LEX.date_events.values(), LEX.vague]
    for text in [*RE2_TEXTS, "The letter was sent Friday \u2014 data", "caf\u00e9 letter", "no such words here", "LETTER"]:
        for pattern in patterns:
            assert found_in(pattern, text) == (pattern.search(text) is not None), (pattern, text)


def test_shared_scan_of_event_words_where_a_sentence_has_none_or_some():
    """The scan starts where the first of its RE2 patterns matches (none before: nothing to find
    in a sentence without any); each pattern's matches are still its own finditer's."""
    from factledger.claims.prefilter import SharedScan

    patterns = tuple(LEX.date_events.values())
    shared = SharedScan(patterns)
    for text in ["Nothing here at all.", "He wrote to ICE, which sent data as of July 21 and replied.", "As of May, sent",
                 "the request was dated \u2014 sent", ""]:
        for pattern, found in zip(patterns, shared.matches(text)):
            assert [m.span() for m in found] == [m.span() for m in pattern.finditer(text)], (pattern, text)


def test_by_identity_caches_per_object_not_per_value():
    from factledger.claims.prefilter import by_identity

    calls = []
    sizes = by_identity(lambda d: calls.append(1) or len(d))
    a, b = {"x": 1}, {"x": 1}
    assert sizes(a) == sizes(a) == sizes(b) == 1
    assert len(calls) == 2  # once for a, once for the equal but distinct b


def test_a_lexicon_with_its_shared_scan_pickles():
    """A lexicon goes to the worker processes pickled, with the shared scan it has built (whose
    RE2 regexes cannot be pickled: the scan is rebuilt from its patterns)."""
    import pickle

    text = "about 13,099 were convicted, tens of thousands, 1 in 5, at 10:30"
    before = [[m.span() for m in found] for found in LEX._lowered_scan[0].matches(text)]
    copy = pickle.loads(pickle.dumps(LEX))
    assert [[m.span() for m in found] for found in copy._lowered_scan[0].matches(text)] == before
