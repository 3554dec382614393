"""The article list's rows are built in fragments.py (and their openings in SQL), byte for byte what
the template's row wrote: a row taken over from an earlier report, or joined into a page in SQL,
reads as one rendered in Jinja."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import duckdb

from factledger.report import build, explain, fragments, summary

# The table's body as templates/articles.html wrote it before the rows moved to fragments.list_row.
BODY = """<tbody>
{% for anchor, a in rows %}
<tr{% if anchor %} id="{{ anchor }}"{% endif %}><td>{{ a.outlet }}</td><td><a href="{{ a.file }}">{{ a.headline }}</a></td><td>{{ a.published or "" }}</td><td>{{ badges(a.counts) }}</td></tr>
{% endfor %}
</tbody>"""


def test_a_list_row_reads_as_the_templates_row():
    template = build.environment().from_string(BODY)
    words = explain.wording()
    styles = [explain.style(v, words) for v in [*explain.known_verdicts(words), "odd <verdict>"]]
    badges = fragments.count_badges(styles)
    links = [summary.ArticleLink("a1", "articles/a1.html", "=HYPERLINK(\"x\")", "</script><b>Head</b> & 'more'",
                                 dt.date(2024, 9, 29), Counter({"exact": 2, "odd <verdict>": 1})),
             summary.ArticleLink("a2", "articles/a&2.html", "Unknown outlet", "plain", None, Counter())]
    rows = [(summary.outlet_anchor(3) if first else None, link) for link in links for first in (True, False)]
    con = duckdb.connect()
    html = ""
    for anchor, link in rows:
        start_sql = fragments.list_row_start_sql("TRUE" if anchor else "FALSE", f"'{summary.OUTLET_ANCHOR}' || 3")
        html += con.execute(f"SELECT {start_sql}").fetchone()[0] + fragments.list_row(link, badges)
    assert "<tbody>\n" + html + "</tbody>" == template.render(rows=rows, badges=badges)
