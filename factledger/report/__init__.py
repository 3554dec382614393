"""The static HTML report of a published dataset version: warehouse/exports/v<N>/report/.

index.html (overview), articles.html (paged: articles-2.html, ...), diff.html, articles/<id>.html
(one per article, with its ClaimReview JSON-LD) and sources/<id>.html. Jinja2 templates (autoescaped) and the CSS ship in
this package (templates/), the wording in verdicts.yaml; charts are inline SVG from matplotlib.
Nothing is loaded from the network, so the report opens from file://. See docs/report.md.

- explain.py: verdict labels, markers, colours, ratings and plain-language sentences (from YAML)
- data.py: the pages' view models, read from one version's published tables
- summary.py: what counts over the whole version (per outlet, per figure, the article list), in SQL
- fragments.py: the per-claim HTML of the article pages and the article list's rows (outside Jinja)
- reuse.py: the article pages (and their rows of the article list) taken over unchanged from the
  previous version's report, decided in SQL from its .pages.parquet and DuckLake's change feed
- codehash.py: the code hash (what shapes the pages: this package, and the definitions it reaches
  in other modules, read from the source)
- charts.py: matplotlib SVG
- build.py: render the templates and write the folder (optionally with worker processes)
"""
