from hypothesis import given, settings
from hypothesis import strategies as st

from factledger.claims import lexicon
from factledger.claims.names import find_variants, levenshtein, split_name

LEX = lexicon.load()
PEOPLE = ["Tony Gonzales", "Patrick J. Lechleitner"]


def test_split_name():
    assert split_name("Patrick J. Lechleitner") == ("Patrick", "Lechleitner")
    assert split_name("P.J. Lechleitner") == (None, "Lechleitner")


def test_levenshtein():
    assert levenshtein("gonzalez", "gonzales") == 1
    assert levenshtein("abc", "abc") == 0


def test_variant_with_first_name_title_and_repeat():
    text = "A letter to Tony Gonzalez arrived. Rep. Gonzalez said so. Later Gonzalez spoke."
    found = find_variants(text, PEOPLE, LEX)
    assert [text[f.start:f.end] for f in found] == ["Tony Gonzalez", "Gonzalez", "Gonzalez"]
    assert [f.evidence.split(" ")[0] for f in found] == ["first", "title", "same"]
    assert all(f.person == "Tony Gonzales" and f.expected == "Gonzales" for f in found)


def test_no_flag_without_evidence_or_for_exact_spelling():
    assert find_variants("Vicente Gonzalez of another district spoke.", PEOPLE, LEX) == []
    assert find_variants("Tony Gonzales and P.J. Lechleitner and Patrick Lechleitner.", PEOPLE, LEX) == []


def test_first_name_variant():
    found = find_variants("A note from Patrik Lechleitner.", PEOPLE, LEX)
    assert [(f.variant, f.expected) for f in found] == [("Patrik", "Patrick")]


@settings(deadline=None)  # (an example may compile the patterns' scans: slow on a busy machine)
@given(st.lists(st.sampled_from(["Gonzales", "O'", "Mc", "-", "'", " ", "Tony", "gon", "G", "T2", "_", "\u00e9", "Lech", ".",
                                 "Smith-Gonzales", "'s", "Pat", "x"]), max_size=20).map("".join),
       st.frozensets(st.sampled_from("GTPLMOS"), max_size=3))
def test_capitalised_words_are_those_of_the_whole_scan(text, initials):
    """names.capitalised_words (a scan for the words starting with the people's initials only) finds
    what the scan of every capitalised word finds there: a word inside another ("O'Gonzales") too."""
    from factledger.claims.names import _CAPITALISED, capitalised_words

    expected = [m.span() for m in _CAPITALISED.finditer(text) if text[m.start()] in initials]
    assert [m.span() for m in capitalised_words(text, initials)] == expected
