import datetime as dt

import pandas as pd
import pytest

from factledger.claims import lexicon
from factledger.claims.dates import as_date, check_mention, events_near, find_mentions, is_claim_date, resolve

LEX = lexicon.load()
SAT = dt.date(2024, 9, 28)


def one(text: str):
    found = find_mentions(text, LEX)
    assert len(found) == 1, [m.text for m in found]
    return found[0]


@pytest.mark.parametrize("text,published,first,last", [
    ("said on Friday", SAT, dt.date(2024, 9, 27), dt.date(2024, 9, 27)),
    ("sent it Wednesday", SAT, dt.date(2024, 9, 25), dt.date(2024, 9, 25)),
    ("posted on Saturday", SAT, SAT, SAT),  # on or before publication: the same day
    ("wrote on Sept. 25", SAT, dt.date(2024, 9, 25), dt.date(2024, 9, 25)),
    ("asked in March", SAT, dt.date(2024, 3, 1), dt.date(2024, 3, 31)),
    ("happened in November", SAT, dt.date(2023, 11, 1), dt.date(2023, 11, 30)),  # the latest November before
    ("said earlier this week", SAT, dt.date(2024, 9, 23), SAT),
    ("a poll last month", SAT, dt.date(2024, 8, 1), dt.date(2024, 8, 31)),
    ("as of July 21", SAT, dt.date(2024, 7, 21), dt.date(2024, 7, 21)),
    ("as of June 5, 2021", SAT, dt.date(2021, 6, 5), dt.date(2021, 6, 5)),
    ("between May 2023 and the end of July", SAT, dt.date(2023, 5, 1), dt.date(2024, 7, 31)),
    ("from May 2023 through July", SAT, dt.date(2023, 5, 1), dt.date(2024, 7, 31)),
    ("in Fiscal Year 2024", SAT, dt.date(2023, 10, 1), dt.date(2024, 9, 30)),
    ("as of July of this year", SAT, dt.date(2024, 7, 1), dt.date(2024, 7, 31)),
])
def test_resolution(text, published, first, last):
    r = resolve(one(text), published, LEX.fiscal_year_start_month)
    assert (r.first, r.last) == (first, last)


def test_unresolvable_without_publication_date():
    assert resolve(one("on Friday"), None) is None
    assert resolve(one("in July 2024"), None).first == dt.date(2024, 7, 1)


def test_may_the_verb_is_not_a_date():
    assert find_mentions("they may have left", LEX) == []
    assert [m.text for m in find_mentions("since May 2023", LEX)] == ["May 2023"]


def test_events_near():
    sentence = "The director sent a letter Wednesday to the congressman."
    start = sentence.index("Wednesday")
    assert events_near(sentence, start, start + 9, LEX)[0].event == "document_date"


SOURCE = {"document_date": dt.date(2024, 9, 25), "as_of_date": dt.date(2024, 7, 21), "request_date": dt.date(2024, 3, 13)}
REACTIONS = [("recipient posted the letter on X", dt.date(2024, 9, 27))]


def test_wrong_letter_day_is_flagged():
    check = check_mention(dt.date(2024, 9, 26), dt.date(2024, 9, 26), ["document_date"], True, SOURCE, REACTIONS)
    assert check.flagged and check.consistent is False


def test_right_day_and_any_cued_event_is_consistent():
    assert check_mention(dt.date(2024, 9, 25), dt.date(2024, 9, 25), ["document_date"], True, SOURCE, REACTIONS).consistent
    # "the letter was sent after he asked in March": either event may be meant
    march = check_mention(dt.date(2024, 3, 1), dt.date(2024, 3, 31), ["document_date", "request_date"], True, SOURCE, REACTIONS)
    assert march.consistent and not march.flagged
    assert check_mention(dt.date(2024, 9, 27), dt.date(2024, 9, 27), ["reaction:posted"], True, SOURCE, REACTIONS).consistent


def test_not_flagged_without_event_or_source_reference():
    assert not check_mention(dt.date(2024, 9, 26), dt.date(2024, 9, 26), [], True, SOURCE, REACTIONS).flagged
    assert not check_mention(dt.date(2024, 9, 26), dt.date(2024, 9, 26), ["document_date"], False, SOURCE, REACTIONS).flagged
    assert not check_mention(None, None, ["document_date"], True, SOURCE, REACTIONS).flagged


def test_event_dates_do_not_date_numbers():
    sentence = "He sent a letter Wednesday saying as of July 21 there were 5,000."
    for mention in find_mentions(sentence, LEX):
        r = resolve(mention, SAT)
        events = events_near(sentence, mention.start, mention.end, LEX)
        assert is_claim_date(mention, r, events) == (mention.text == "July 21")


@pytest.mark.parametrize("value,expected", [
    (dt.date(2024, 7, 21), dt.date(2024, 7, 21)),
    (dt.datetime(2024, 7, 21, 23, 59), dt.date(2024, 7, 21)),
    (pd.Timestamp("2024-07-21"), dt.date(2024, 7, 21)),
    (pd.NaT, None),
    (None, None),
])
def test_as_date_reads_every_shape_a_lake_date_arrives_in(value, expected):
    assert as_date(value) == expected


# ---- the prefiltered scans find what the plain patterns find --------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from factledger.claims import dates  # noqa: E402

_SCANS = ("_FISCAL", "_MONTH_DATE", "_BARE_YEAR", "_WEEKDAY", "_RELATIVE")
_DATE_WORDS = ["the", "end", "of", "beginning", "start", "middle", "mid-", "early", "late", "this", "last", "next", "past",
               "earlier", "later", "week", "month", "year", "today", "tonight", "yesterday", "fiscal", "FY", "fy", "Fiscal",
               "May", "Sept.", "Sep", "March", "Mar", "Dec", "December", "Jan", "Monday", "Fridays", "Sunday", "THIS", "Week",
               "2024", "1999", "24", "25th", "3", "$2024", "2,024", "bathe", "amid-", "x", " ", "  ", "\n", ",", ".", "-", "'"]


def _spans(pattern, text):
    return [(m.span(), m.groupdict()) for m in pattern.finditer(text)]


@settings(max_examples=400)
@given(st.lists(st.sampled_from(_DATE_WORDS), max_size=30).map("".join))
def test_prefiltered_scans_match_the_plain_patterns(text):
    for name in _SCANS:
        assert _spans(getattr(dates, name + "_SCAN"), text) == _spans(getattr(dates, name), text), name


def test_prefiltered_scans_on_mid_word_and_odd_case_starts():
    for text in ["thistart of May", "bathe end of Sept. 3, 2024", "ſince this ſpring, THIS WEEK, Fiſcal Year 2024",
                 "x2024 and 2024, 1999.5", "last  Monday and nextFriday", "early\nJune 3rd of next year"]:
        for name in _SCANS:
            assert _spans(getattr(dates, name + "_SCAN"), text) == _spans(getattr(dates, name), text), (name, text)


def test_event_words_read_once_give_the_same_cues():
    sentence = "ICE sent the letter on Sept. 25, days after Gonzales asked in July, as of July 21 the data posted Friday"
    words = dates.event_words(sentence, LEX)
    for mention in find_mentions(sentence, LEX):
        assert events_near(sentence, mention.start, mention.end, LEX, words) == events_near(sentence, mention.start, mention.end, LEX)
