
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from factledger.claims import lexicon
from factledger.claims.numbers import find_numbers, parse_digits, parse_words

LEX = lexicon.load()

ONES = ["", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words_below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = [f"{ONES[hundreds]} hundred"] if hundreds else []
    if 10 <= rest < 20:
        parts.append(TEENS[rest - 10])
    elif rest:
        tens, ones = divmod(rest, 10)
        parts.append("-".join(p for p in (TENS[tens], ONES[ones]) if p))
    return " ".join(parts)


def in_words(n: int) -> str:
    parts = []
    for scale, name in ((10**6, "million"), (10**3, "thousand"), (1, "")):
        chunk, n = divmod(n, scale)
        if chunk:
            parts.append(f"{words_below_thousand(chunk)} {name}".strip())
    return " ".join(parts)


def only(text: str):
    found = find_numbers(text, LEX)
    assert len(found) == 1, [text[f.start:f.end] for f in found]
    return found[0]


@pytest.mark.parametrize("text,value,qualifier,phrase", [
    ("they found more than 425,000 people", 425000, "more_than", "more than 425,000"),
    ("nearly 16,000 were counted", 16000, "nearly", "nearly 16,000"),
    ("a docket of 7.5 million people", 7_500_000, "none", "7.5 million"),
    ("thirteen thousand people", 13000, "none", "thirteen thousand"),
    ("some 222,000 await charges", 222000, "about", "some 222,000"),
    ("an estimated 7 million people", 7_000_000, "about", "an estimated 7 million"),
    ("over 435,719 people", 435719, "more_than", "over 435,719"),
    ("435,000-plus people", 435000, "more_than", "435,000-plus"),
    ("close to 1,200 cases", 1200, "nearly", "close to 1,200"),
    ("fewer than 300 beds", 300, "less_than", "fewer than 300"),
    ("a million people", 1_000_000, "none", "a million"),
    ("up to 41,500 beds", 41500, "at_most", "up to 41,500"),
])
def test_phrases(text, value, qualifier, phrase):
    n = only(text)
    assert (n.value, n.qualifier, text[n.start:n.end]) == (value, qualifier, phrase)


@pytest.mark.parametrize("text", [
    "On July 21, 2024 it happened.", "In 2023 they met.", "at 10:30 a.m. sharp", "the 21st time", "see [1] and [12]",
    "under section 236(c) of the act", "visit https://example.com/a-435000-b?x=1 now", "in Fiscal Year 2024",
    "1. What the agencies publish", "tens of thousands of people", "COVID-19 cases", "one of the main points",
    "FY2024 budget", "(a) first item",
])
def test_non_claims(text):
    assert find_numbers(text, LEX, [(m.start, m.end) for m in __import__("factledger.claims.dates", fromlist=["x"]).find_mentions(text, LEX)]) == []


@pytest.mark.parametrize("text,kind,phrase", [
    ("over the past 40 year or more", "duration", "40 year"),
    ("in a 100-day period", "duration", "100-day"),
    ("it goes back four decades", "duration", "four decades"),
    ("by 10 percentage points", "percent", "10 percentage points"),
    ("claimed 3 in 4 arrests", "ratio", "3 in 4"),
    ("a $5 donation", "money", "$5"),
    ("three law enforcement officials said", "other", "three"),
    ("rose 12% last year", "percent", "12%"),
])
def test_kinds(text, kind, phrase):
    n = only(text)
    assert (n.kind, text[n.start:n.end]) == (kind, phrase)


def test_rounding_unit():
    assert parse_digits("435,000") == (435000, 1000, 3)
    assert parse_digits("7.5", "million") == (7_500_000, 100_000, 2)
    assert parse_digits("900,000") == (900000, 100000, 1)
    assert parse_digits("13,099") == (13099, 1, 5)


@given(st.integers(min_value=10_000, max_value=999_999_999))
def test_formatted_integers_round_trip(n):
    n_text = f"{n:,}"
    found = only(f"there were {n_text} people")
    assert found.value == n


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=9), st.sampled_from(["thousand", "million", "billion"]))
def test_scaled_decimals_round_trip(whole, tenth, scale):
    factor = {"thousand": 10**3, "million": 10**6, "billion": 10**9}[scale]
    found = only(f"about {whole}.{tenth} {scale} people")
    assert found.value == pytest.approx((whole + tenth / 10) * factor)
    assert found.qualifier == "about"


@given(st.integers(min_value=2, max_value=999_999_999))
def test_words_round_trip(n):
    assume(n % 1000 != 1 or n > 1000)
    text = in_words(n)
    assert parse_words(text) == n
    found = only(f"we counted {text} people")
    assert found.value == n


@given(st.sampled_from([("more than", "more_than"), ("nearly", "nearly"), ("about", "about"), ("at least", "at_least"),
                        ("fewer than", "less_than"), ("no more than", "at_most"), ("roughly", "about"), ("upwards of", "more_than")]),
       st.integers(min_value=11, max_value=10**7))
def test_hedges_round_trip(hedge, n):
    words, qualifier = hedge
    found = only(f"they said {words} {n:,} people")
    assert (found.value, found.qualifier) == (n, qualifier)


filler = st.text(alphabet=st.sampled_from(list("abcdefg ,.\n\u2011\u2019\u00a0")), max_size=30)


@given(st.lists(st.tuples(filler, st.integers(min_value=10_000, max_value=10**8)), min_size=1, max_size=5), filler)
def test_offsets_point_at_phrases_in_any_text(pieces, tail):
    from factledger.claims.pipeline import extract_article

    body = "".join(f"{pre} more than {n:,} people " for pre, n in pieces) + tail
    rows = extract_article("x", body, None, "0" * 64, LEX).claims
    for row in rows:
        assert body[row["start"]:row["end"]] == row["phrase"]
    values = [r["value"] for r in rows]
    for _, n in pieces:
        assert n in values


@settings(max_examples=400)
@given(st.lists(st.sampled_from(["a", "an", "A", "half", "Half", "one", "ONE", "two", "twenty", "seventeen", "seven", "hundred",
                                 "thousand", "million", "dozen", "and", "-", " ", "  ", "\n", ",", "x", "ſix", "İ", "5", "the"]),
                max_size=25).map("".join))
def test_number_word_scan_is_the_plain_pattern(text):
    from factledger.claims import numbers

    assert [(m.span(), m.groupdict()) for m in numbers._WORDS_SCAN.finditer(text)] == \
        [(m.span(), m.groupdict()) for m in numbers._WORDS.finditer(text)]


@settings(max_examples=400)
@given(st.lists(st.sampled_from(["1", "23", "4,567", "1 000", "$", "$ ", "a", "_", ".", ",", "-", " ", "%", "m", "million", "\u0663",
                                 "\u00e9", "\n", "k"]), max_size=25).map("".join))
def test_digit_scan_is_the_plain_pattern(text):
    """numbers._DIGITS_SCAN (tried only at "$" and digits with no word character, ".", "," or "$"
    before them) finds exactly the plain pattern's matches, groups included."""
    from factledger.claims import numbers

    assert [(m.span(), m.groupdict()) for m in numbers._DIGITS_SCAN.finditer(text)] == \
        [(m.span(), m.groupdict()) for m in numbers._DIGITS.finditer(text)]


# The plain forms of two non-claim patterns that lexicon.yaml writes for speed.
_PLAIN_NON_CLAIMS = {
    "statute_section": r"(?:§+\s*|\b(?:section|sec\.|title|rule|article|chapter|part|paragraph|amendment|u\.s\.c\.)\s+)\d+[\w().-]*"
                       r"|\b\d+\([a-z0-9]+\)(?:\([a-z0-9]+\))*",
    "code_or_id": r"\b[A-Za-z]+-?\d+[A-Za-z0-9-]*\b|\b\d+[A-Za-z]+\w*\b|\b\d+/\d+(?:/\d+)?\b|\bno\.\s*\d+",
}


@settings(max_examples=500)
@given(st.lists(st.sampled_from(["section", "sec.", "part", "§", "§§", "no.", "no", "covid", "fy", "a", "-", "/", "(", ")", "(c)",
                                 "1", "19", "236", "2024", "x", " ", "  ", ".", "_", "é", "٣"]), max_size=20).map("".join))
def test_fast_non_claim_patterns_match_their_plain_forms(text):
    import re

    for name, plain in _PLAIN_NON_CLAIMS.items():
        fast = LEX.non_claims[name]
        assert [m.span() for m in fast.finditer(text)] == [m.span() for m in re.compile(plain).finditer(text)], name


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=12), st.integers(0, 30), st.integers(0, 30))
def test_span_index_overlaps_as_the_plain_test(spans, start, end):
    from factledger.claims.numbers import _overlaps, _SpanIndex

    assert _SpanIndex(spans).overlaps(start, end) == _overlaps(spans, start, end)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(["more than", "over", "just over", "nearly", "almost", "about", "some", "an estimated", "estimated",
                                 "less than", "under", "up to", "as many as", "at least", "no fewer than", "~", "approx.", "over ",
                                 "x", " ", "  ", "\n", ",", "-", "(", "Over", "ABOUT", "ſome"]), max_size=12).map("".join))
def test_one_search_for_the_hedges_before_a_number_is_the_search_per_qualifier(before):
    from factledger.claims.qualifiers import hedge_around

    text = before + "425,000"
    start = len(before)
    window = text[max(0, start - 40):start]
    best = None
    for qualifier, pattern in LEX.qualifiers_before.items():  # the plain way: one search per qualifier
        m = pattern.search(window)
        if m and (best is None or m.start() < best[1].start()):
            best = (qualifier, m)
    hedge = hedge_around(text, start, start + 7, LEX)
    if best is None:
        assert hedge.cue is None or hedge.start == start  # (no hedge before; perhaps one after)
    else:
        assert (hedge.qualifier, hedge.cue) == (best[0], best[1].group().strip())


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["more than", "MORE THAN", "More", " than", "over", "Just Over", "nearly", "About", "some", "~",
                                 "approx.", "APPROX.", "x", " ", "\n", ",", "(", "-", "no fewer than", "An Estimated"]),
                max_size=10).map("".join))
def test_hedge_search_in_lower_case_is_the_ignorecase_search(window):
    """qualifiers.search_before: on an ASCII window, the lower-case search without IGNORECASE
    finds what the IGNORECASE search finds (start, end, qualifier)."""
    from factledger.claims.qualifiers import case_sensitive, _combined_for, search_before

    pattern, _ = _combined_for(LEX.qualifiers_before)
    assert case_sensitive(pattern) is not None
    fast, plain = search_before(pattern, window), pattern.search(window)
    assert (fast and (fast.span(), fast.lastgroup)) == (plain and (plain.span(), plain.lastgroup))


def test_word_direction_is_the_first_pattern_the_word_matches():
    """direction.word_direction (cached per word and patterns): down before up before either."""
    from factledger.claims import direction

    directions = LEX.directions
    for word in ["fell", "rose", "changed", "fewer", "more", "the", "declines", "increase"]:
        expected = next((d for d in ("down", "up", "either") if directions[d].fullmatch(word)), None)
        assert direction.word_direction(word, directions["down"], directions["up"], directions["either"]) == expected
        assert direction._word_direction(word, LEX) == expected
