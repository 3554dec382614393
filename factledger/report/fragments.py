"""The two parts of an article page written once per claim (the highlighted body and the
scorecard's rows), as HTML built here rather than in Jinja: a corpus has millions of claims, and a
template spends most of a page's time on these loops (an attribute lookup and an escape per
placeholder, a macro call per badge). What is the same for every claim of a verdict or of a figure
is escaped once per report; per claim only its own text is (markupsafe.escape, as Jinja's
autoescape). templates/article.html calls `article_body(page)` and `scorecard_rows(page, root)`;
the markup is what the template wrote, byte for byte."""
from __future__ import annotations

from markupsafe import Markup, escape

from factledger.report import data, explain


def _e(value) -> str:
    return str(escape(value))


class Fragments:
    """Builds the per-claim HTML of the article pages of one report (`common`: build._common's
    names: the sources' pages and the figures' anchors)."""

    def __init__(self, common: dict) -> None:
        self.sources = common["report_sources"]
        self.anchors = common["figure_anchor"]
        self.looks: dict[int, tuple] = {}  # id(style) -> (style, css class, verdict, "marker label", badge, marker)
        self.figures: dict[tuple[str, str, str], tuple[str, str]] = {}

    def _look(self, look: explain.VerdictStyle) -> tuple[str, str, str, str, str]:
        found = self.looks.get(id(look))
        if found is None or found[0] is not look:
            marker, label = _e(look.marker), _e(look.label)
            badge = f'<span class="badge {_e(look.css_class)}"><span aria-hidden="true">{marker}</span> {label}</span>'
            found = self.looks[id(look)] = (look, _e(look.css_class), _e(look.verdict), f"{marker} {label}", badge, marker)
        return found[1:]

    def _figure(self, c: data.ClaimView, root: str) -> tuple[str, str]:
        """(the tooltip's "Matched figure" sentence, the scorecard's figure cell) of a matched claim."""
        figure = c.figure
        key = (figure["figure_id"], root, c.cell)
        found = self.figures.get(key)
        if found is None:
            value = _e(c.figure_text)
            source = self.sources[figure["source_id"]].file if figure.get("source_id") in self.sources else ""
            derived = f' <span class="muted">(derived: {_e(figure.get("formula"))})</span>' if figure.get("derived") else ""
            cell = (f'<a href="{_e(root)}{_e(source)}#{_e(self.anchors[figure["figure_id"]])}">{_e(c.cell)}</a>: '
                    f"{value}{derived}")
            found = self.figures[key] = (f" Matched figure: {_e(c.cell)} = {value}.", cell)
        return found

    def article_body(self, page: data.ArticlePage) -> Markup:
        out = []
        for seg in page.segments:
            c, f = seg.claim, seg.finding
            if c is not None:
                css, verdict, title, _, marker = self._look(c.look)
                matched = self._figure(c, "")[0] if c.figure else ""
                a = c.anchor
                out.append(f'<span class="claim {css}" id="{a}" tabindex="0" data-verdict="{verdict}" aria-describedby="tip-{a}">'
                           f'{_e(seg.text)}<span class="marker" aria-hidden="true">{marker}</span>'
                           f'<span class="tip" role="tooltip" id="tip-{a}"><strong>{title}.</strong> {_e(c.sentence)}{matched}'
                           "</span></span>")
            elif f is not None:
                a, marker = _e(f.anchor), _e(f.marker)
                out.append(f'<span class="finding {_e(f.css_class)}" id="{a}" tabindex="0" aria-describedby="tip-{a}">'
                           f'{_e(seg.text)}<span class="marker" aria-hidden="true">{marker}</span>'
                           f'<span class="tip" role="tooltip" id="tip-{a}"><strong>{_e(f.label)}.</strong> {_e(f.sentence)}'
                           "</span></span>")
            else:
                out.append(_e(seg.text))
        return Markup("".join(out))

    def scorecard_rows(self, page: data.ArticlePage, root: str) -> Markup:
        out = []
        for c in page.claims:
            badge = self._look(c.look)[3]
            a = c.anchor
            phrase = f"“{_e(c.row.get('phrase'))}”"
            if c.highlighted:
                phrase = f'<a href="#{a}">{phrase}</a>'
            cell = self._figure(c, root)[1] if c.figure else "—"
            unrated = f" · {_e(c.unrated)}" if c.unrated else ""
            out.append(f'<tr id="row-{a}"><td>{badge}</td>\n<td>{phrase}</td>\n<td>{cell}</td>\n'
                       f'<td>{_e(c.sentence)}<br><span class="muted">Evidence: {_e(c.row.get("explanation"))}{unrated}</span></td></tr>\n')
        return Markup("".join(out))


def count_badges(styles: list[explain.VerdictStyle]):
    """A function giving the badges of a {verdict: count} (macros.html's `counts`: one badge per
    verdict with a count, in `styles`' order), for lists that show one per row."""
    parts = [(s.verdict, f'<span class="badge {_e(s.css_class)}" title="{_e(s.label)}"><span aria-hidden="true">{_e(s.marker)}</span> ',
              f'<span class="sr"> {_e(s.label)}</span></span> ') for s in styles]

    def badges(counter) -> Markup:
        return Markup("".join(f"{head}{_e(n)}{tail}" for verdict, head, tail in parts if (n := counter.get(verdict, 0))))
    return badges


def list_row(link, badges) -> str:
    """An article's row of the article list (a summary.ArticleLink; `badges`: count_badges) but
    its opening `<tr` and anchor (list_row_start_sql): what a later report takes over while the
    article is unchanged."""
    return (f'><td>{_e(link.outlet)}</td><td><a href="{_e(link.file)}">{_e(link.headline)}</a></td>'
            f'<td>{_e(link.published or "")}</td><td>{badges(link.counts)}</td></tr>\n')


def list_row_start_sql(first: str, anchor: str) -> str:
    """SQL of a list row's opening: `<tr`, with ` id="<anchor>"` where `first` (SQL: an outlet's
    first row; `anchor`: SQL of its anchor, escaped as it needs no escaping: letters, digits, `-`)."""
    return f"""CASE WHEN {first} THEN '<tr id="' || {anchor} || '"' ELSE '<tr' END"""
