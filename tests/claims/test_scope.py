from factledger.cells import parse_dims
from factledger.claims import lexicon
from factledger.claims.pipeline import extract_article
from factledger.paths import PROJECT_ROOT
from factledger.sources import parse_source_folder

# The language plus the ICE letter's own words (its source.yaml cues): what an article citing it gets.
ICE = parse_source_folder(PROJECT_ROOT / "raw" / "sources" / "ice-letter-2024-09-25", PROJECT_ROOT / "raw")
LEX = lexicon.load().with_vocabulary(lexicon.Vocabulary.build(ICE.dimensions, ICE.measures))


def scoped(body: str) -> list[dict]:
    rows = extract_article("a", body, None, "0" * 64, LEX).claims
    return [{"phrase": r["phrase"], "measure": r["measure"],
             **{d: parse_dims(r["dims"]).get(d) for d in ("offense", "custody", "criminal_status")}} for r in rows]


def test_cues_after_the_number_win_and_opening_is_shared():
    rows = scoped("Among those held in detention, 1,234 were convicted of burglary and 567 face burglary charges.")
    assert [(r["custody"], r["criminal_status"], r["offense"]) for r in rows] == [
        ("detained", "convicted", "burglary"), ("detained", "pending", "burglary")]


def test_elided_modifier_comes_from_an_earlier_number():
    rows = scoped("Officials released 4,321 people convicted of kidnapping and 98 with pending charges.")
    assert rows[1]["offense"] == "kidnapping" and rows[1]["criminal_status"] == "pending"
    assert rows[0]["custody"] == rows[1]["custody"] == "non_detained"


def test_offense_is_not_borrowed_from_a_later_number():
    rows = scoped("There were 80,000 people with criminal histories, 1,500 of them convicted of homicide.")
    assert rows[0]["offense"] is None and rows[1]["offense"] == "homicide"


def test_longest_cue_wins_and_negation():
    rows = scoped("Some 5,500 convicted of sexual assault are not detained.")
    assert (rows[0]["offense"], rows[0]["custody"]) == ("sexual_assault", "non_detained")


def test_no_measure_without_a_criminal_cue():
    rows = scoped("The docket holds 7 million people who are not detained.")
    assert rows[0]["measure"] is None


def test_explicit_measure_and_addresses_are_not_cues():
    rows = scoped("The agency removed 12,345 people (https://example.com/convicted-murder-released).")
    assert rows[0]["measure"] == "removed_or_returned" and rows[0]["offense"] is None and rows[0]["custody"] is None


def test_repeated_number_refers_back():
    rows = scoped("More than 1,200 people convicted of burglary were released. It is unclear where the 1,200 live.")
    assert rows[1]["measure"] == "noncitizens_on_docket" and rows[1]["offense"] == "burglary"


def test_a_compared_number_counts_what_it_is_compared_with():
    rows = scoped("The agency has funding for 41,500 detention beds this year, up from 34,000 the year before.")
    assert [r["measure"] for r in rows] == ["detention_capacity_beds", "detention_capacity_beds"]
    rows = scoped("Some 1,500 people convicted of burglary were released, compared with 1,200 a year earlier.")
    assert rows[1]["measure"] == "noncitizens_on_docket"
    assert (rows[1]["offense"], rows[1]["criminal_status"], rows[1]["custody"]) == ("burglary", "convicted", "non_detained")


def test_a_number_merely_following_another_is_not_compared():
    rows = scoped("The agency has funding for 41,500 detention beds, drawn from 20 budget lines.")
    assert rows[1]["measure"] is None


def test_living_freely_is_not_detained():
    rows = scoped("More than 13,000 immigrants convicted of homicide are living freely in the U.S.")
    assert (rows[0]["custody"], rows[0]["offense"]) == ("non_detained", "homicide")


def test_the_n_figure_is_written_as_a_figures_name():
    from factledger.claims.pipeline import claim_facts

    rows = extract_article("a", "Officials said the 13,099 figure includes old cases, not 2,000 people.", None, "0" * 64, LEX).claims
    assert [claim_facts(r, LEX).names_a_figure for r in rows] == [True, False]


def test_scanner_retries_only_the_patterns_that_can_start_there():
    """Scanner.by_first: the retry at a match tries only the patterns that can start with its
    first character (and those whose first characters are unknown), in the same order."""
    from factledger.claims.lexicon import Scanner

    scanner = Scanner.build({"a": ["assault", "sexual assault"], "b": ["(?:sex|rape) offen[cs]es?", "[a-z]+ly detained"],
                             "c": ["detained"], "d": ["\\d+ times"]})
    text = "sexual assault, rape offences, not lawfully detained, detained 3 times; assaulted"
    found = [(value, m.group()) for value, m in scanner.finditer(text)]
    assert found == [("a", "sexual assault"), ("b", "rape offences"), ("b", "lawfully detained"), ("c", "detained"), ("d", "3 times")]
    # longest first: "(?:sex|rape) ..." starts with s or r; "[a-z]+ly ..." and "\\d+ times" could start anywhere
    assert [v for v, _ in scanner.by_first["s"]] == ["b", "b", "a", "d"]
    assert [v for v, _ in scanner.by_first["d"]] == ["b", "d", "c"]
    assert [v for v, _ in scanner.anywhere] == ["b", "d"] and "r" in scanner.by_first


def test_population_test_is_names_population():
    """reconcile._population_test (requirements worked out once per claim and measure) decides as
    _names_population does, for every mix of named, unnamed-total and unnamed-any dimensions."""
    import itertools

    from factledger.claims.reconcile import ClaimFacts, Figure, FigureIndex, _names_population, _population_ids, _population_test

    index = FigureIndex(totals={("s", "a"): "all", ("s", "b"): "all"}, measure_dims={("s", "m"): ("a", "b")})
    values = ["all", "x", "y", None]
    figures = [Figure(f"f{i}", "s", "m", tuple((d, v) for d, v in zip("ab", vs) if v is not None), 1.0, "none", False, None, None, None)
               for i, vs in enumerate(itertools.product(values, repeat=2))]
    for named in itertools.product(["x", "all", None], repeat=2):
        for unnamed in itertools.product(["total", "any"], repeat=2):
            claim = ClaimFacts("1", 1.0, "none", "count", 1.0, 1, "m", dict(zip("ab", named)), {}, dict(zip("ab", unnamed)))
            test = _population_test(claim, index)
            assert [test(f) for f in figures] == [_names_population(claim, f, index) for f in figures]
            # ... and _population_ids, all of a measure's figures at once (a key without figures adds none)
            indexed = FigureIndex(totals=index.totals, measure_dims=index.measure_dims, by_measure={("s", "m"): figures})
            assert _population_ids(claim, indexed, [("s", "m"), ("s", "none"), ("s", "m")]) == \
                {id(f) for f in figures if _names_population(claim, f, indexed)}


def test_scanner_identifies_the_pattern_as_the_retry_does():
    """Scanner.identify (one match of the patterns in named groups) names the value the retry at a
    match would find; with group references of its own a scanner has no identify and retries."""
    from factledger.claims.lexicon import Scanner

    cues = {"a": ["assault", "sexual assault"], "b": ["(sex|rape) offen[cs]es?", "[a-z]+ly detained"], "c": ["detained"],
            "d": ["\\d+ times"]}
    scanner = Scanner.build(cues)
    assert scanner.identify is not None
    retry = Scanner(scanner.regex, scanner.patterns, scanner.by_first, scanner.anywhere, None)
    text = "sexual assault, rape offences, not lawfully detained, detained 3 times; assaulted; sex offense"
    assert [(v, m.span()) for v, m in scanner.finditer(text)] == [(v, m.span()) for v, m in retry.finditer(text)]
    assert Scanner.build({"a": ["(x)\\1"]}).identify is None


def test_scope_decisions_read_the_scope_json_into_a_new_dict():
    """pipeline.scope_decisions (the JSON read once per distinct text): the decisions in the JSON's
    order, in a dict of the caller's own."""
    import json

    from factledger.claims.pipeline import scope_decisions
    from factledger.claims.scope import Decision

    row = {"scope": json.dumps({"b": {"value": "x", "cue": "ex", "basis": "after"}, "a": {"value": None, "cue": None, "basis": None}})}
    first = scope_decisions(row)
    assert list(first.items()) == [("b", Decision("x", "ex", "after")), ("a", Decision(None))]
    first["b"] = Decision("y")
    assert scope_decisions(row)["b"] == Decision("x", "ex", "after") and scope_decisions({"scope": None}) == {}


def test_addresses_are_blanked_as_their_patterns_sub_would():
    """pipeline._blank_addresses (the matches read from the article's shared scan) writes spaces
    where the URL and then the e-mail pattern's `sub` would, in lower case."""
    from factledger.claims.pipeline import _blank_addresses
    from factledger.claims.text import lowered

    for text in ["See https://Example.test/ICE-released-435000 and mail Press@ICE.test, or www.x.test.",
                 "No address here, 13,099 convicted.", "a@b.c https://a@b.c/x www.y.z/@q", ""]:
        expected = lowered(text)
        for name in ("url", "email"):
            pattern = LEX.non_claims[name]
            expected = pattern.sub(lambda m: " " * len(m.group()), lowered(expected))
        assert _blank_addresses(text, LEX) == expected, text
