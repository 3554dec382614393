"""The plain-language wording (verdicts.yaml): every verdict has what the report and ClaimReview
need, and every template reads as a sentence once filled."""
from __future__ import annotations

import re
import string

import pytest

from factledger.report import explain

WORDS = explain.wording()
SOURCE = {"source_id": "s", "title": "Letter from an agency to a committee"}
FIGURE = {"figure_id": "s:widgets:colour=red, size=all", "source_id": "s", "measure": "widgets_made",
          "dims": "colour=red, size=all", "value": 12345.0, "period_start": None, "period_end": None}


def test_every_verdict_has_label_marker_colour_and_default_sentence():
    for verdict, entry in WORDS["verdicts"].items():
        look = explain.style(verdict)
        assert look.label and look.marker and re.fullmatch(r"#[0-9A-Fa-f]{6}", look.colour), verdict
        assert "default" in look.templates
    markers = [explain.style(v).marker for v in WORDS["verdicts"]]
    colours = [explain.style(v).colour for v in WORDS["verdicts"]]
    assert len(set(markers)) == len(markers) and len(set(colours)) == len(colours)
    labels = {v: explain.style(v).label for v in ("exact", "rounded", "wrong_scope", "contradicted")}
    assert labels == {"exact": "Accurate", "rounded": "Rounded, accurate", "wrong_scope": "Wrong population",
                      "contradicted": "Contradicted by the source"}


def test_templates_use_only_known_placeholders():
    known = {"phrase", "value", "figure", "cell", "claim_cell", "right_figure", "doc", "measure", "kind", "verdict"}
    for verdict, entry in WORDS["verdicts"].items():
        for key, template in entry["explain"].items():
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            assert fields <= known, (verdict, key, fields - known)


@pytest.mark.parametrize("claim, right, expected", [
    ({"verdict": "exact", "phrase": "12,345", "value": 12345.0, "figure_id": "f", "measure": "widgets_made"}, None,
     "Accurate: the letter gives 12,345 for widgets made (red)."),
    ({"verdict": "rounded", "phrase": "about 12,000", "value": 12000.0, "figure_id": "f", "measure": "widgets_made"}, None,
     "Accurate, but rounded: the letter gives 12,345 for widgets made (red), and “about 12,000” is a fair way to put it."),
    ({"verdict": "wrong_scope", "phrase": "12,345", "value": 12345.0, "figure_id": "f", "measure": "widgets_made",
      "dims": "colour=blue"}, {"value": 999.0},
     "Right number, wrong group: 12,345 is what the letter gives for widgets made (red), but the article says it "
     "counts widgets made (blue); for that, the letter gives 999."),
    ({"verdict": "contradicted", "phrase": "20,000", "value": 20000.0, "figure_id": "f", "measure": "widgets_made"}, None,
     "Contradicted: the letter gives 12,345 for widgets made (red), which “20,000” does not match."),
])
def test_sentences_for_assertive_verdicts(claim, right, expected):
    assert explain.explain_claim(claim, FIGURE, SOURCE, right) == expected


def test_sentences_for_claims_the_source_cannot_check():
    base = {"verdict": "not_in_source", "phrase": "3.7 million", "value": 3.7e6, "figure_id": None}
    assert explain.explain_claim({**base, "kind": "percent", "phrase": "10 percent"}, None, SOURCE) == \
        "Not checked: “10 percent” is a percentage, and the letter only gives counts."
    assert explain.explain_claim({**base, "measure": "widgets_made"}, None, SOURCE).startswith(
        "Not checked: the letter counts widgets made, but has no figure matching")
    assert explain.explain_claim(base, None, {"title": "Quarterly numbers"}) == \
        "Not checked: the source has no figure for what “3.7 million” counts."


def test_unknown_verdicts_still_read():
    look = explain.style("brand_new_verdict")
    assert look.rating is None and look.label == "brand new verdict"
    assert explain.explain_claim({"verdict": "brand_new_verdict"}, None, SOURCE) == "The letter: brand new verdict."


def test_words_and_numbers():
    assert explain.humanise("non_detained") == "non-detained" and explain.humanise("canon_law") == "canon law"
    assert explain.number(1234567.0) == "1,234,567" and explain.number(-2.5) == "-2.5"
    assert explain.number(41500, "beds") == "41,500 beds" and explain.number(None) == ""
    assert explain.dims_text("a=all, b=x_y") == "x y"
    assert explain.cell_text({"measure": "m", "dims": "a=all"}) == "m (in total)"
    assert explain.cell_text({"measure": "m", "dims": "", "period_start": "2024-01-01", "period_end": "2024-12-31"}) == \
        "m, 2024-01-01 to 2024-12-31"
    assert explain.document_noun({"title": "Report on things"}) == "the report"
    assert explain.document_noun({"title": "Widgets, 2024"}) == "the source"
