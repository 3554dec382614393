import datetime as dt
from dataclasses import replace

import pytest

from factledger.cells import dims_key
from factledger.claims.numbers import unit_of
from factledger.claims.reconcile import (
    ClaimFacts, FigureIndex, claim_interval, figure_interval, reconcile,
)

DIMS = ("offense", "custody", "criminal_status")
AS_OF = dt.date(2024, 7, 21)


def fig(fid, value, offense="all", custody="all", status="all", measure="people", qualifier="none", derived=False, **extra):
    dims = dims_key({"offense": offense, "custody": custody, "criminal_status": status})
    return {"figure_id": fid, "source_id": "s", "measure": measure, "dims": dims, "value": value, "qualifier": qualifier, "derived": derived,
            "as_of_date": extra.get("as_of", AS_OF if measure == "people" else None),
            "period_start": extra.get("start"), "period_end": extra.get("end")}


FIGURES = [
    fig("all", 1000), fig("all_conv", 700, status="convicted"), fig("free_conv", 650, custody="free", status="convicted"),
    fig("held_conv", 50, custody="held", status="convicted", derived=True), fig("x_free_conv", 131, offense="x", custody="free", status="convicted"),
    fig("x_all_conv", 134, offense="x", status="convicted", derived=True),
    fig("flow", 893600, measure="moved", qualifier="more_than", custody=None, status=None, offense=None,
        start=dt.date(2023, 5, 15), end=dt.date(2024, 7, 31)),
]
LABELS = {"custody": {"all": "national", "free": "free", "held": "held"}, "criminal_status": {"all": "", "convicted": "convicted"},
          "offense": {"all": "", "x": "x-crime"}}
DIMENSION_ROWS = [{"source_id": "s", "dimension": d, "value": v, "is_total": v == "all", "label": label}
                  for d, values in LABELS.items() for v, label in values.items()]
MEASURES = [{"source_id": "s", "measure": "people", "dimensions": "offense, custody, criminal_status", "description": "People"},
            {"source_id": "s", "measure": "moved", "dimensions": "", "description": "People moved in the period"}]
INDEX = FigureIndex.build(FIGURES, DIMENSION_ROWS, MEASURES)


def claim(value, qualifier="none", unit=1, sig=None, measure="people", kind="count", date=None, **dims):
    # The named dimensions' cues are the number's own words (after it), as in "650 convicted and free".
    return ClaimFacts(
        phrase=str(value), value=value, qualifier=qualifier, kind=kind, unit=unit,
        significant_digits=sig if sig is not None else unit_of(value)[1], measure=measure,
        dims={d: dims.get(d) for d in DIMS}, dim_cues={d: dims.get(d) for d in DIMS},
        dim_bases={d: "after" for d in DIMS if dims.get(d)},
        when_unnamed={"offense": "total", "custody": "any", "criminal_status": "any"},
        date_first=date[0] if date else None, date_last=date[1] if date else None, date_phrase="then" if date else None,
    )


def verdict(c):
    v = reconcile(c, INDEX, ["s"], LABELS)
    return v.verdict, v.figure_id


@pytest.mark.parametrize("value,qualifier,unit,sig,figure,ok", [
    (425000, "more_than", 1000, 3, 425431, True),
    (16000, "nearly", 1000, 2, 15811, True),
    (435000, "none", 1000, 3, 435719, True),   # a bare round number, truncated
    (15000, "none", 1000, 2, 15811, True),
    (900000, "none", 100000, 1, 960000, False),  # a one-digit round number: half a unit only
    (900000, "none", 100000, 1, 893600, True),
    (16000, "nearly", 1000, 2, 16200, False),  # nearly needs the figure below
    (13000, "more_than", 1000, 2, 12990, False),  # more than needs it above
    (222000, "about", 1000, 3, 222141, True),
])
def test_hedge_and_rounding_rules(value, qualifier, unit, sig, figure, ok):
    assert claim_interval(value, qualifier, unit, sig).overlaps(figure_interval(figure, "none")) is ok


def test_the_sources_own_hedge_counts():
    more_than = figure_interval(893600, "more_than")
    assert claim_interval(893600, "none", 100, 4).overlaps(more_than)
    assert claim_interval(900000, "nearly", 100000, 1).overlaps(more_than)


def test_exact_and_rounded_on_the_named_population():
    assert verdict(claim(650, custody="free", criminal_status="convicted")) == ("exact", "free_conv")
    assert verdict(claim(600, "more_than", unit=100, sig=1, custody="free", criminal_status="convicted")) == ("rounded", "free_conv")


def test_unnamed_custody_is_open_but_prefers_stated_figures():
    assert verdict(claim(131, offense="x", criminal_status="convicted")) == ("exact", "x_free_conv")
    # 130 fits both 131 (stated) and 134 (derived): the stated one is taken
    assert verdict(claim(130, unit=10, sig=2, offense="x", criminal_status="convicted")) == ("rounded", "x_free_conv")


def test_wrong_scope_names_the_other_population():
    v = reconcile(claim(700, custody="free", criminal_status="convicted"), INDEX, ["s"], LABELS)
    assert (v.verdict, v.figure_id, v.figure_value) == ("wrong_scope", "all_conv", 700)
    assert "people, convicted (as of 2024-07-21) 700" in v.explanation
    assert "people, convicted, free (as of 2024-07-21) is 650" in v.explanation


def test_contradicted_when_the_population_exists_and_nothing_fits():
    v = reconcile(claim(400, custody="free", criminal_status="convicted"), INDEX, ["s"], LABELS)
    assert (v.verdict, v.figure_id) == ("contradicted", "free_conv")
    assert v.relative_difference == pytest.approx(400 / 650 - 1)


def test_not_in_source_cases():
    assert verdict(claim(7_000_000, measure=None))[0] == "not_in_source"
    assert verdict(claim(40, kind="duration"))[0] == "not_in_source"
    year_2021 = (dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert verdict(claim(650, sig=2, custody="free", criminal_status="convicted", date=year_2021))[0] == "not_in_source"
    assert verdict(claim(12, offense="y", criminal_status="convicted"))[0] == "not_in_source"  # a cell the source lacks


def test_flow_periods_must_overlap():
    in_period = (dt.date(2023, 5, 1), dt.date(2024, 7, 31))
    assert verdict(claim(893600, unit=100, sig=4, measure="moved", date=in_period)) == ("exact", "flow")
    year_2020 = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    assert verdict(claim(890000, unit=10000, sig=2, measure="moved", date=year_2020))[0] == "not_in_source"


def test_the_sources_number_dated_to_another_period_is_wrong_scope_never_exact():
    # A distinctive number that is a cell of the named population, but for a time the text does not give.
    year_2020 = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    v = reconcile(claim(893600, unit=100, sig=4, measure="moved", date=year_2020), INDEX, ["s"], LABELS)
    assert (v.verdict, v.figure_id) == ("wrong_scope", "flow") and "dates it to" in v.explanation


def test_a_distinctive_number_without_cues_is_the_sources_own():
    v = reconcile(claim(1000, unit=1000, sig=1, measure=None), INDEX, ["s"], LABELS)
    assert v.verdict == "not_in_source"  # a round number could be anything
    distinctive = replace(claim(650, measure=None), significant_digits=4, value=893600.0)
    assert reconcile(distinctive, INDEX, ["s"], LABELS).verdict == "exact"


def test_a_number_written_as_a_figures_name_is_that_figure():
    big = fig("x_free_conv_big", 13099, offense="x", custody="free", status="convicted")
    index = FigureIndex.build([*FIGURES, big], DIMENSION_ROWS, MEASURES)
    scoped = claim(13099, custody="held", criminal_status="convicted")  # its own words say held, the figure is free
    assert reconcile(scoped, index, ["s"], LABELS).verdict == "wrong_scope"
    named = reconcile(replace(scoped, names_a_figure=True), index, ["s"], LABELS)
    assert (named.verdict, named.figure_id) == ("exact", "x_free_conv_big")
    # A hedged or short number is no name: the scoped verdict stands.
    hedged = replace(scoped, names_a_figure=True, qualifier="about", value=13000.0, unit=1000, significant_digits=2)
    assert reconcile(hedged, index, ["s"], LABELS).verdict != "exact"


def test_population_members_are_has_values():
    """FigureIndex.population_members (per measure and required values, by figure identity) agrees
    with testing each figure, and is worked out once."""
    from factledger.claims.reconcile import Figure, FigureIndex, has_values

    def fig(i, dims):
        return Figure(f"f{i}", "s", "m", tuple(sorted(dims.items())), float(i), "none", False, None, None, None, None, None, "count", False)

    figures = [fig(1, {"a": "x", "b": "y"}), fig(2, {"a": "x", "b": "total"}), fig(3, {"a": "z"})]
    index = FigureIndex(by_measure={("s", "m"): figures})
    for required in [(("a", "x"),), (("a", "x"), ("b", "total")), (("b", None),), ()]:
        members = index.population_members(("s", "m"), required)
        assert members == {id(f): has_values(f, required) for f in figures}
        assert index.population_members(("s", "m"), required) is members


def test_levels_are_the_level_figures_by_value():
    """reconcile._levels (once per set of cited sources): the cited sources' count cells in index
    order, and the same cells by value, each list in that order."""
    from factledger.claims.reconcile import Figure, FigureIndex, _levels

    def fig(i, source, measure, value):
        return Figure(f"f{i}", source, measure, (), value, "none", False, None, None, None)

    index = FigureIndex(by_measure={("s", "count"): [fig(1, "s", "count", 5.0), fig(2, "s", "count", 7.0), fig(3, "s", "count", 5.0)],
                                    ("s", "share"): [fig(4, "s", "share", 5.0)], ("t", "count"): [fig(5, "t", "count", 5.0)],
                                    ("s", "change"): [fig(6, "s", "change", 5.0)]},
                        measure_units={("s", "share"): "percent"}, changes={("s", "count", "difference"): ["change"]})
    figures, by_value = _levels(index, ["s"])
    assert [f.figure_id for f in figures] == ["f1", "f2", "f3"]
    assert {v: [f.figure_id for f in fs] for v, fs in by_value.items()} == {5.0: ["f1", "f3"], 7.0: ["f2"]}
    assert _levels(index, ["s"]) is _levels(index, ["s"]) and [f.figure_id for f in _levels(index, ["s", "t"])[0]] == ["f1", "f2", "f3", "f5"]


def test_other_populations_test_written_out_is_same_value_or_fits():
    """_reconcile_scoped's test for an undirected claim against other populations' figures,
    written out (value equal, or the intervals overlap), is `_same_value or _fits`."""
    import itertools

    from factledger.claims.reconcile import ClaimFacts, Figure, _fits, _same_value, claim_interval

    figures = [Figure(f"f{i}", "s", "m", (), value, qualifier, False, None, None, None, decimals, None, unit, change)
               for i, (value, qualifier, decimals, unit, change) in enumerate(itertools.product(
                   [-3.0, 0.0, 435000.0, 435719.0, 2.5], ["none", "more_than", "about"], [None, 1], ["count", "percent"], [False, True]))]
    for value, qualifier, unit, sig in itertools.product([435000.0, 2.0, 3.0, 0.0], ["none", "about", "nearly"], [1.0, 1000.0], [1, 3]):
        claim = ClaimFacts(str(value), value, qualifier, "count", unit, sig, "m", {}, {}, {})
        interval = claim_interval(value, qualifier, unit, sig)
        for f in figures:
            assert (value == f.value or interval.overlaps(f.value_interval)) == (_same_value(claim, f) or _fits(claim, interval, f))
