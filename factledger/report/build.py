"""Render and write the report of one published version (see the package docstring)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import jinja2

from factledger import export, versions
from factledger.progress import Progress
from factledger.report import charts, data, explain, reuse

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
REPORT_DIR = "report"
STAMP = ".stamp"
CHECK_ROWS = "check_rows.json"
MAX_LISTED = 50
MAX_PER_OUTLET = 10  # articles listed per outlet on the overview (all are in articles.html)
MAX_ROWS = 500
MAX_INPUTS = 200


@dataclass
class Written:
    path: Path  # the report's index.html
    pages: int
    bytes: int
    seconds: float
    regenerated: bool = True


def report_dir(warehouse: Path, version: int) -> Path:
    return export.version_dir(warehouse, version) / REPORT_DIR


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
    env.filters["ink"] = ink
    return env


def ink(colour: str) -> str:
    """Black or white, whichever reads better on `colour` (#rrggbb), by WCAG relative luminance."""
    try:
        r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    except (ValueError, IndexError):
        return "#000"
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#fff"


def code_hash() -> str:
    """SHA-256 over this package's files: a report is rewritten when they change."""
    digest = hashlib.sha256()
    for path in [*sorted(PACKAGE_DIR.rglob("*")), Path(export.__file__).resolve()]:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def stamp_for(version: versions.Version, publisher: export.Publisher, check_rows: dict | None) -> str:
    payload = {"fingerprint": version.content_hash, "snapshot": version.snapshot_id, "code": code_hash(),
               "publisher": [publisher.name, publisher.url, publisher.report_url],
               "check_rows": hashlib.sha256(json.dumps(check_rows or {}, sort_keys=True, default=str).encode()).hexdigest()}
    return json.dumps(payload, sort_keys=True)


def _published_at(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value or "")


def _common(model: data.Report) -> dict:
    return {
        "report": model,
        "published_at": _published_at(model.version.get("created_at")),
        "report_sources": {s.source["source_id"]: s for s in model.sources},
        "figure_anchor": {f.figure["figure_id"]: f.anchor for s in model.sources for f in s.figures},
        "max_listed": MAX_LISTED,
        "max_per_outlet": MAX_PER_OUTLET,
        "max_rows": MAX_ROWS,
        "max_inputs": MAX_INPUTS,
    }


def render(model: data.Report, articles: bool = True, env: jinja2.Environment | None = None,
           chart_cache: charts.Cache | None = None) -> Iterator[tuple[str, str]]:
    """Every page of the report as (relative path, HTML), one at a time (a large corpus has
    thousands of pages: each is written before the next is rendered). `articles` False: all
    but the article pages (write_report renders those as the pages stream by). `chart_cache`:
    charts drawn before (charts.Cache)."""
    env = env or environment()
    common = _common(model)
    styles = model.styles()

    outlets = model.outlets()
    outlet_counts = {}
    for outlet, ps in outlets:
        total = {}
        for p in ps:
            for k, v in p.counts.items():
                total[k] = total.get(k, 0) + v
        outlet_counts[outlet] = total
    chart = charts.stacked_bars("Claims per outlet, by verdict", [(o, outlet_counts[o]) for o, _ in outlets], styles, "outlets",
                                chart_cache)
    yield "index.html", env.get_template("index.html").render(
        common, root="", outlets=outlets, outlet_counts=outlet_counts, outlet_chart=chart,
        total_claims=sum(len(p.claims) for p in model.articles), miscited=model.miscited())
    yield "articles.html", env.get_template("articles.html").render(common, root="")

    article_pages = {p.article["article_id"]: p.file for p in model.articles}
    article_titles = {p.article["article_id"]: f"{p.outlet}: {export.opening_words(p.headline, 60)}" for p in model.articles}
    page_of = {c.row["claim_id"]: p.file for p in model.articles for c in p.claims}
    changed_verdicts = {c.get("verdict") for _, c, _ in model.diff.claim_changes if c}
    yield "diff.html", env.get_template("diff.html").render(
        common, root="", article_pages=article_pages, page_of=page_of, article_titles=article_titles,
        styles={v: explain.style(v, model.words) for v in {*model.verdict_order(), *changed_verdicts} if v})

    if articles:
        article = env.get_template("article.html")
        for page in model.articles:
            yield page.file, article.render(common, root="../", page=page)
    source = env.get_template("source.html")
    for i, s in enumerate(model.sources):
        cited = [(f.cell, dict(f.counts)) for f in s.figures if f.citations]
        cited.sort(key=lambda t: -sum(t[1].values()))
        svg = charts.stacked_bars("Citations per figure, by verdict", cited, styles, f"source-{i}", chart_cache) if cited else ""
        yield s.file, source.render(common, root="../", source=s, chart=svg)


def _verdicts_seen(con: duckdb.DuckDBPyConnection, version: versions.Version, present: list[str], words: dict) -> Counter:
    """Claims per verdict of the version (as the pages will count them), from SQL."""
    if "claims" not in present:
        return Counter()
    seen: Counter = Counter()
    for verdict, n in con.execute(f"SELECT verdict, count(*) FROM {versions.relation_at('claims', version.snapshot_id)} "
                                  "GROUP BY ALL").fetchall():
        seen[explain.style(verdict, words).verdict] += n
    return seen


def reuse_plan(con: duckdb.DuckDBPyConnection, warehouse: Path, version: versions.Version, publisher: export.Publisher,
               seen: Counter | None = None) -> reuse.Reuse:
    """The article pages of the previous version's report that `version`'s report takes over
    (the export's ClaimReviews follow the same plan)."""
    words = explain.wording()
    if seen is None:
        seen = _verdicts_seen(con, version, versions.tables_at(con, version.snapshot_id), words)
    legend = data.Report({}, [], [], [], None, publisher, words, _counts=seen).verdict_order()
    return reuse.plan(con, warehouse, version, reuse.page_key(con, version, publisher, legend, code_hash()))


def write_pages(con: duckdb.DuckDBPyConnection, version: versions.Version, publisher: export.Publisher,
                check_rows: dict | None, write, link=None, warehouse: Path | None = None,
                progress: Callable[[str], None] | None = None) -> dict:
    """Render every page of the report, passing (relative path, HTML) to `write`: article pages as
    the published rows stream by (each slimmed once written), then the overview, the lists, the
    diff and the source pages. With `warehouse` and `link`, an article page the previous version's
    report has and that would read the same (reuse.py) is passed to `link` (relative path, the
    earlier file) instead of being rendered. Returns the manifest: the key and, per article, its
    page's file and the version it was written for."""
    ctx = data.context(con, version, publisher=publisher)
    earlier = [v for v in versions.versions(con) if v.version < version.version]
    previous = versions.version_row(con, earlier[-1].version) if earlier else None
    seen = _verdicts_seen(con, version, ctx.present, ctx.words)
    plan = reuse_plan(con, warehouse, version, publisher, seen) if warehouse is not None and link is not None \
        else reuse.Reuse(None)
    # What an article page shows of the whole report: the verdicts seen (legend, styles), the
    # previous version (navigation), the sources' and figures' pages.
    frame = data.Report(ctx.vrow, [], list(ctx.source_pages.values()), [],
                        data.DiffView(previous, [], [], [], [], False, []), publisher, ctx.words, _counts=seen)
    env = environment()
    common = _common(frame)
    article = env.get_template("article.html")
    pages, listed = [], {}
    n_articles = con.execute(f"SELECT count(*) FROM {versions.relation_at('articles', version.snapshot_id)}").fetchone()[0] \
        if "articles" in ctx.present else 0
    articles = Progress("report: article pages", n_articles, progress, unit="pages")
    for page in articles.over(data.iter_pages(con, version, ctx=ctx, reuse=plan, light=True)):
        article_id = page.article["article_id"]
        if page.reused:
            link(page.file, plan.folder / page.file)
            listed[article_id] = plan.pages[article_id]
            pages.append(page)
            continue
        write(page.file, article.render(common, root="../", page=page))
        listed[article_id] = (page.file, version.version)
        pages.append(data.slim(page))
    model = data.assemble(con, version, ctx, pages, check_rows)
    chart_cache = charts.Cache(plan.folder)  # the same code drew the previous report's charts when its pages are taken over
    for rel, html in render(model, articles=False, env=env, chart_cache=chart_cache):
        write(rel, html)
    write(charts.Cache.FILE, chart_cache.dumps())
    return {"key": plan.key, "pages": listed}


def load_check_rows(folder: Path) -> dict | None:
    path = folder / CHECK_ROWS
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    return None


def write_report(con: duckdb.DuckDBPyConnection, warehouse: Path, version: versions.Version, *,
                 publisher: export.Publisher | None = None, check_rows: dict | None = None,
                 force: bool = False, progress: Callable[[str], None] | None = None) -> Written:
    """Write exports/v<N>/report/ for `version` (atomically: a temporary folder renamed into
    place). Unchanged version, code and settings: the existing report stays (regenerated False).
    `check_rows`: failing rows per `asset.check` from the run's check metadata; kept in the
    report folder, so a later rewrite shows them too."""
    started = time.perf_counter()
    publisher = publisher or export.Publisher.from_env()
    target = report_dir(warehouse, version.version)
    if check_rows is None:
        check_rows = load_check_rows(target)
    stamp = stamp_for(version, publisher, check_rows)
    if not force and (target / STAMP).exists() and (target / STAMP).read_text() == stamp and (target / "index.html").exists():
        return Written(target / "index.html", *_size(target), time.perf_counter() - started, regenerated=False)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)

    folders: set[Path] = set()

    def place(rel: str) -> Path:
        path = staging / rel
        if path.parent not in folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            folders.add(path.parent)
        return path

    def write(rel: str, html: str) -> None:
        place(rel).write_text(html, encoding="utf-8")

    def link(rel: str, earlier: Path) -> None:
        export.link_or_copy(earlier, place(rel))

    manifest = write_pages(con, version, publisher, check_rows, write, link, warehouse, progress)
    reuse.write_manifest(staging, manifest["key"], manifest["pages"])
    if check_rows:
        (staging / CHECK_ROWS).write_text(json.dumps(check_rows, indent=1, default=str), encoding="utf-8")
    (staging / STAMP).write_text(stamp)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return Written(target / "index.html", *_size(target), time.perf_counter() - started)


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*.html")]
    return len(files), sum(p.stat().st_size for p in files)
