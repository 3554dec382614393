"""The six failure classes of verdicts on unseen articles (issue 9), each on sentences written for
these tests, reconciled against the ICE letter's real figures (a lake built once for the module)."""
import datetime as dt
import shutil

import pytest

from factledger import figures, ingest, lake, tables
from factledger.claims import lexicon, store
from factledger.claims.pipeline import extract_article, reconcile_rows
from factledger.claims.reconcile import claim_interval, figure_interval, one_digit_apart
from factledger.paths import PROJECT_ROOT

CITES = "ice-letter-2024-09-25"


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("verdicts") / "warehouse"
    raw = tmp_path_factory.mktemp("raw")
    shutil.copytree(PROJECT_ROOT / "raw" / "sources", raw / "sources")  # a copy: raw/ is confined to itself
    with lake.connect(warehouse) as con:
        tables.ensure_tables(con)
        ingest.sync_sources(con, raw)
        figures.rebuild_figures(con)
        return store.load_context(con)


def judge(context, body: str) -> list[tuple]:
    language = lexicon.load()
    rows = extract_article("t", body, dt.date(2024, 9, 30), "0" * 64, context.lexicon_for(CITES, language)).claims
    out = reconcile_rows(rows, {"t": CITES}, context, language)
    return [(r["phrase"], r["verdict"], r["figure_value"], r["explanation"]) for r in out]


def test_class1_each_number_of_an_enumeration_takes_its_own_category(context):
    verdicts = judge(context, "Among the non-detained, ICE listed 62,231 convicted of assault, 56,533 of dangerous drugs "
                              "and 77,074 of traffic offenses.")
    assert [(p, v, f) for p, v, f, _ in verdicts] == [
        ("62,231", "exact", 62231), ("56,533", "exact", 56533), ("77,074", "exact", 77074)]


def test_class2_a_distinctive_number_is_governed_by_its_own_words(context):
    verdicts = judge(context, "Of the 425,431 convicted criminals on the non-detained docket, 13,099 are murderers.")
    assert [(p, v) for p, v, _, _ in verdicts] == [("425,431", "exact"), ("13,099", "exact")]
    # Its own words still decide: a homicide count said to be detained is the wrong population.
    own = judge(context, "ICE is holding 13,099 convicted murderers in detention.")
    assert own[0][1] == "wrong_scope"


def test_class3_of_those_takes_the_previous_sentences_population(context):
    verdicts = judge(context, "The letter counts 425,431 convicted criminals who are not detained. "
                              "Of those, 62,231 have assault convictions.")
    assert verdicts[1][:3] == ("62,231", "exact", 62231)
    assert "in the previous sentence" in verdicts[1][3]


def test_class3_another_adds_to_the_previous_sentences_population(context):
    verdicts = judge(context, "The 13,099 homicide convicts everyone quotes are the non-detained ones. Another 277 are detained.")
    assert verdicts[1][:3] == ("277", "exact", 277)


def test_class4_small_counts_are_something_else_not_false_flags(context):
    verdicts = judge(context, "In the county, two of them were charged with assault, officials said.")
    assert verdicts[0][1] == "not_in_source"
    verdicts = judge(context, "The sheriff counted at least 30 releases of convicted criminals last month.")
    assert verdicts[0][1] == "not_in_source"


def test_class5_a_number_a_digit_away_is_a_typo_of_that_cell(context):
    verdicts = judge(context, "ICE reported 662,556 noncitizens with criminal histories on its national docket.")
    assert verdicts[0][1:3] == ("contradicted", 662566) and "one digit" in verdicts[0][3]
    verdicts = judge(context, "ICE said 435,791 convicted noncitizens were on its docket.")
    assert verdicts[0][1:3] == ("contradicted", 435719) and "swapped" in verdicts[0][3]


def test_class6_a_hedge_does_not_stretch_past_its_tolerance(context):
    near = judge(context, "Nearly 16,000 convicted of sexual assault are not detained.")
    assert near[0][1:3] == ("rounded", 15811)
    far = judge(context, "Almost 17,000 convicted of sexual assault are not detained.")  # 15,811 is 7% short
    assert far[0][1] == "contradicted" and far[0][2] == 15811


@pytest.mark.parametrize("value,qualifier,unit,sig,figure,ok", [
    (14000, "nearly", 1000, 2, 13099, False),   # 6.4% short: no rounding
    (14000, "nearly", 1000, 2, 13301, True),    # 4.99% short: still "nearly"
    (14000, "nearly", 1000, 2, 13299, False),   # 5.01% short
    (100000, "more_than", 100000, 1, 107543, True),  # a floor: "over 100,000" for 107,543
    (3500, "about", 100, 2, 3486, True),
    (30000, "about", 10000, 1, 28400, False),   # 5.3% off is no "about", though within half a unit
    (30000, "about", 10000, 1, 28600, True),
])
def test_hedge_tolerances_at_their_edges(value, qualifier, unit, sig, figure, ok):
    assert claim_interval(value, qualifier, unit, sig).overlaps(figure_interval(figure, "none")) is ok


@pytest.mark.parametrize("a,b,how", [
    (662556, 662566, "differs by one digit"), (435791, 435719, "has two digits swapped"),
    (662566, 662566, None), (66256, 662566, None), (662000, 662566, None), (12.5, 12.6, None),
])
def test_one_digit_apart(a, b, how):
    assert one_digit_apart(a, b) == how
