"""Percentages, changes and their direction; periods; lists; parts and names a source does not list.

A small made-up source (counts of 'incidents' by 'region', two years, a percent-change and a
difference measure) is compiled into a vocabulary the way the pipeline does it."""
import datetime as dt
import json

import pytest

from factledger.cells import dims_key, parse_dims
from factledger.claims import direction, lexicon
from factledger.claims.pipeline import claim_facts, extract_article
from factledger.claims.reconcile import ClaimFacts, FigureIndex, reconcile

LANGUAGE = lexicon.load()


def dimension_rows(name, total, values, additive=False):
    return [{"source_id": "s", "dimension": name, "value": v, "is_total": v == total, "additive": additive,
             "label": label, "cues": json.dumps(cues), "when_unnamed": "total", "shared_from": "earlier", "not_cues": "[]"}
            for v, (label, cues) in values.items()]


DIMENSIONS = dimension_rows("region", "all", {
    "all": ("every region", ["nationwide", "national(?:ly)?"]),
    "north": ("North Province", ["north province", "the north"]),
    "south": ("South Province", ["south province", "the south"]),
})
MEASURES = [
    {"source_id": "s", "measure": "incidents", "description": "incidents in the year", "unit": "incidents",
     "dimensions": "region", "cues": json.dumps(["incidents?"]), "not_cues": "[]", "implied_by": "region", "priority": 1,
     "change_of": None, "change": None},
    {"source_id": "s", "measure": "incidents_pct", "description": "percent change of incidents", "unit": "percent",
     "dimensions": "region", "cues": "[]", "not_cues": "[]", "implied_by": "", "priority": 1, "change_of": "incidents", "change": "percent"},
    {"source_id": "s", "measure": "incidents_diff", "description": "change of incidents", "unit": "incidents",
     "dimensions": "region", "cues": "[]", "not_cues": "[]", "implied_by": "", "priority": 1, "change_of": "incidents", "change": "difference"},
]
LEX = LANGUAGE.with_vocabulary(lexicon.Vocabulary.build(DIMENSIONS, MEASURES))
Y22, Y23 = (dt.date(2022, 1, 1), dt.date(2022, 12, 31)), (dt.date(2023, 1, 1), dt.date(2023, 12, 31))


def fig(fid, measure, region, value, period, qualifier="none", decimals=0, derived=False):
    return {"figure_id": fid, "source_id": "s", "measure": measure, "dims": dims_key({"region": region}), "value": value,
            "unit": "percent" if measure == "incidents_pct" else "incidents",
            "qualifier": qualifier, "derived": derived, "decimals": None if derived else decimals,
            "period_start": period[0], "period_end": period[1], "as_of_date": None}


FIGURES = [
    fig("all22", "incidents", "all", 20000, Y22), fig("all23", "incidents", "all", 19000, Y23),
    fig("n23", "incidents", "north", 5000, Y23), fig("n22", "incidents", "north", 4000, Y22),
    fig("pct_all", "incidents_pct", "all", -5, Y23),                       # stated, rounded: -5 (exact -5.0)
    fig("pct_n", "incidents_pct", "north", 25, Y23, derived=True),
    fig("pct_s", "incidents_pct", "south", 20, Y23, qualifier="at_least"),  # "rose at least 20%"
    fig("diff_all", "incidents_diff", "all", -1000, Y23, derived=True),
]
INDEX = FigureIndex.build(FIGURES, DIMENSIONS, MEASURES)


def claims_of(body: str, published=dt.date(2024, 3, 1)) -> list[dict]:
    return extract_article("a", body, published, "0" * 64, LEX).claims


def judged(body: str) -> list[tuple]:
    out = []
    for row in claims_of(body):
        v = reconcile(claim_facts(row, LEX), INDEX, ["s"], {})
        out.append((row["phrase"], row["direction"], parse_dims(row["dims"]).get("region"), v.verdict, v.figure_id))
    return out


@pytest.mark.parametrize("before,after,expected", [
    ("incidents fell ", " from 2022", "down"),
    ("a decrease of ", "", "down"),
    ("declines of ", " were seen", "down"),
    ("", " fewer incidents", "down"),
    ("a ", " increase in incidents", "up"),
    ("incidents decreased from ", " to 19,000", None),     # a level, not a change
    ("there were ", " incidents", None),
    ("rose by about ", "", "up"),
])
def test_direction_of_a_number_from_its_own_words(before, after, expected):
    assert direction.near(before.lower(), after.lower(), LANGUAGE).value == expected


def test_a_percentage_without_words_of_its_own_takes_the_nearest_in_its_sentence():
    sentence = "the north (25%) had the steepest decline, followed by the south (18%)"
    assert direction.in_sentence(sentence, sentence.index("25%"), LANGUAGE).value == "down"
    assert direction.in_sentence("a dip here, then increases there: (8%)", 34, LANGUAGE).value == "up"


def test_changes_match_change_cells_only_in_the_same_direction():
    verdicts = judged("Incidents fell 5% nationwide in 2023. Incidents in the north rose 25% in 2023. "
                      "Nationwide, incidents rose 5% in 2023.")
    assert verdicts[0][1:] == ("down", "all", "exact", "pct_all")
    assert verdicts[1][1:] == ("up", "north", "exact", "pct_n")
    assert verdicts[2][1:4] == ("up", "all", "contradicted")  # the source has a fall of 5%, not a rise


def test_a_stated_percent_is_rounded_at_its_own_precision_and_a_bound_is_a_bound():
    verdicts = judged("Incidents fell about 5.3% nationwide. In the south province incidents rose 31%.")
    assert verdicts[0][3:] == ("rounded", "pct_all")    # -5.3 is within the stated -5's rounding
    assert verdicts[1][3:] == ("rounded", "pct_s")      # 31% is consistent with 'at least 20%'


def test_a_difference_is_a_count_with_a_direction():
    verdicts = judged("There were nearly 1,000 fewer incidents nationwide in 2023.")
    assert verdicts == [("nearly 1,000", "down", "all", "rounded", "diff_all")] or verdicts[0][3] in ("exact", "rounded")
    assert verdicts[0][4] == "diff_all"


def test_levels_in_a_from_to_pair_count_the_same_population():
    verdicts = judged("Incidents in the north decreased from 4,000 in 2022 to 5,000 in 2023, and incidents nationwide "
                      "fell from 20,000 to 19,000.")
    assert [(p, d, r, v) for p, d, r, v, _ in verdicts] == [
        ("4,000", None, "north", "exact"), ("5,000", None, "north", "exact"),
        ("20,000", None, "all", "exact"), ("19,000", None, "all", "exact")]


def test_in_a_list_each_number_takes_the_name_on_its_own_side():
    verdicts = judged("Incidents rose sharply in some regions: the north (25%), the south (21%) and East Reach (30%).")
    assert [(r, v) for _, _, r, v, _ in verdicts] == [("north", "exact"), ("south", "rounded"), ("?", "not_in_source")]


def test_a_part_the_source_does_not_break_out_is_not_in_source():
    verdicts = judged("Incidents nationwide from minor collisions like fender benders numbered 1,200 in 2023.")
    assert verdicts[0][2:4] == ("?", "not_in_source")


def test_a_place_the_source_does_not_list_is_not_judged_against_the_total():
    assert judged("Incidents in Westmarch rose by 8% in 2023.")[0][2:4] == ("?", "not_in_source")


def test_a_tiny_count_is_something_else_not_a_contradiction():
    assert judged("Nationwide, two incidents were reported at the fair.")[0][3] == "not_in_source"


def test_a_number_for_another_period_than_the_source_has_is_not_in_source():
    assert judged("Incidents nationwide numbered 18,500 in 2019.")[0][3] == "not_in_source"
    # ...and the source's number for another of its periods is never exact: judged against the named year.
    assert judged("Incidents nationwide numbered 19,000 in 2022.")[0][3:] == ("contradicted", "all22")


def test_the_change_claim_keeps_the_value_as_written_and_the_figure_signed():
    row = claims_of("Incidents fell 5% nationwide in 2023.")[0]
    facts = claim_facts(row, LEX)
    assert isinstance(facts, ClaimFacts) and facts.value == 5 and facts.direction == "down"
    assert reconcile(facts, INDEX, ["s"], {}).figure_value == -5


def test_a_difference_of_unstated_direction_is_compared_by_size():
    verdicts = judged("Nationwide there were 20,000 incidents in 2022 and 19,000 in 2023, a difference of 1,000.")
    assert verdicts[-1][1:] == ("either", "all", "exact", "diff_all")


def test_a_change_restated_in_other_units_keeps_its_direction():
    verdicts = judged("Nationwide incidents fell 5%, or by 1,000, in 2023.")
    assert [v[1] for v in verdicts] == ["down", "down"] and [v[4] for v in verdicts] == ["pct_all", "diff_all"]
