from hypothesis import given
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
