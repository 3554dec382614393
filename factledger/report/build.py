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
from factledger.report import charts, data, explain, fragments, reuse, summary
from factledger.report.codehash import code_hash

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
REPORT_DIR = "report"
STAMP = ".stamp"
SIZE = ".size.json"  # the report's pages and bytes, for a report kept unchanged
CHECK_ROWS = "check_rows.json"
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
    env.filters["opening"] = export.opening_words
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


def stamp_for(version: versions.Version, publisher: export.Publisher, check_rows: dict | None) -> str:
    payload = {"fingerprint": version.content_hash, "snapshot": version.snapshot_id, "code": code_hash(),
               "publisher": [publisher.name, publisher.url, publisher.report_url],
               "check_rows": hashlib.sha256(json.dumps(check_rows or {}, sort_keys=True, default=str).encode()).hexdigest()}
    return json.dumps(payload, sort_keys=True)


def _published_at(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value or "")


def _common(model: data.Report, env: jinja2.Environment) -> dict:
    """What every page's template is given: the report, and what is the same on all its pages
    (the verdicts' styles and legend, rendered once)."""
    macros = env.get_template("macros.html").module
    return {
        "page_style": macros.page_style(model),
        "legend_html": macros.legend(model),
        "report": model,
        "published_at": _published_at(model.version.get("created_at")),
        "report_sources": {s.source["source_id"]: s for s in model.sources},
        "figure_anchor": {f.figure["figure_id"]: f.anchor for s in model.sources for f in s.figures},
        "max_listed": summary.MAX_CITED,
        "max_per_outlet": summary.MAX_PER_OUTLET,
        "max_rows": MAX_ROWS,
        "max_inputs": MAX_INPUTS,
    }


def article_renderer(frame: data.Report, env: jinja2.Environment | None = None) -> Callable[[data.ArticlePage], str]:
    """A function rendering one article page of the report `frame` (what every article page shows
    of the whole report: the verdicts' legend, the previous version, the sources' pages)."""
    env = env or environment()
    template = env.get_template("article.html")
    common = _common(frame, env)
    common["fragments"] = fragments.Fragments(common)
    return lambda page: template.render(common, root="../", page=page)


def list_pages(env: jinja2.Environment, common: dict, rows: Iterator[tuple[int, summary.ArticleLink]], total: int,
               per_page: int | None = None) -> Iterator[tuple[str, str]]:
    """The article list, `per_page` (summary.ARTICLES_PER_PAGE) articles a page (articles.html,
    articles-2.html, ...), rendered as the rows stream by; an outlet's first row carries its anchor
    (summary.outlet_anchor)."""
    per_page = per_page or summary.ARTICLES_PER_PAGE
    template = env.get_template("articles.html")
    pages = summary.list_pages(total, per_page)
    badges = fragments.count_badges(common["report"].styles())  # a macro call per row cost more than the rest of the row
    seen_rank, batch, number, position = None, [], 1, 0

    def page() -> tuple[str, str]:
        html = template.render(common, root="", rows=batch, page=number, pages=pages, total=total, per_page=per_page,
                               first=position - len(batch) + 1, file_of=summary.list_file,
                               window=pager(number, pages), badges=badges)
        return summary.list_file(number), html

    for rank, link in rows:
        anchor = summary.outlet_anchor(rank) if rank != seen_rank else None
        seen_rank = rank
        batch.append((anchor, link))
        position += 1
        if len(batch) == per_page:
            yield page()
            batch, number = [], number + 1
    if batch or number == 1:
        yield page()


def pager(page: int, pages: int, around: int = 3) -> list[int | None]:
    """The page numbers a list's navigation shows: the first, the last, and `around` either side of
    `page`; None where numbers are left out."""
    shown = sorted({1, pages, *range(max(1, page - around), min(pages, page + around) + 1)})
    out: list[int | None] = []
    for n in shown:
        if out and n - out[-1] > 1:
            out.append(None)
        out.append(n)
    return out


def render(model: data.Report, con: duckdb.DuckDBPyConnection, version: versions.Version,
           env: jinja2.Environment | None = None, chart_cache: charts.Cache | None = None) -> Iterator[tuple[str, str]]:
    """Every page of the report but the article pages, as (relative path, HTML), one at a time:
    the overview, the pages of the article list (streamed from SQL), the diff, the source pages.
    `chart_cache`: charts drawn before (charts.Cache)."""
    env = env or environment()
    common = _common(model, env)
    styles = model.styles()
    overview = model.overview
    chart = charts.stacked_bars("Claims per outlet, by verdict", overview.chart_rows, styles, "outlets", chart_cache)
    yield "index.html", env.get_template("index.html").render(common, root="", overview=overview, outlet_chart=chart,
                                                              miscited=model.miscited())
    files = data.page_files(con, version.snapshot_id, versions.tables_at(con, version.snapshot_id))
    yield from list_pages(env, common, summary.article_list(con, version, files, versions.tables_at(con, version.snapshot_id)),
                          overview.articles)
    changed_verdicts = {c.get("verdict") for _, c, _ in model.diff.claim_changes if c}
    yield "diff.html", env.get_template("diff.html").render(
        common, root="", refs=model.diff.articles,
        styles={v: explain.style(v, model.words) for v in {*model.verdict_order(), *changed_verdicts} if v})
    source = env.get_template("source.html")
    for i, s in enumerate(model.sources):
        cited = [(f.cell, dict(f.counts)) for f in s.figures if f.cited]
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


def _frame(vrow: dict, sources: list, previous: dict | None, publisher: export.Publisher, words: dict,
           seen: Counter) -> data.Report:
    """What an article page shows of the whole report: the verdicts seen (legend, styles), the
    previous version (navigation), the sources' and figures' pages."""
    return data.Report(vrow, sources, [], data.DiffView(previous, [], [], [], [], False, []), publisher, words, _counts=seen)


def reuse_plan(con: duckdb.DuckDBPyConnection, warehouse: Path, version: versions.Version, publisher: export.Publisher,
               seen: Counter | None = None) -> reuse.Reuse:
    """The article pages of the previous version's report that `version`'s report takes over
    (the export's ClaimReviews follow the same plan)."""
    words = explain.wording()
    if seen is None:
        seen = _verdicts_seen(con, version, versions.tables_at(con, version.snapshot_id), words)
    legend = _frame({}, [], None, publisher, words, seen).verdict_order()
    return reuse.plan(con, warehouse, version, reuse.page_key(con, version, publisher, legend, code_hash()))


class Sink:
    """Where a report's files go: its staging folder (each folder created once), with the pages
    and bytes of its HTML counted as they are written, linked, or written by worker processes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folders: set[Path] = set()
        self.pages = self.bytes = 0

    def place(self, rel: str) -> Path:
        path = self.folder / rel
        if path.parent not in self.folders:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.folders.add(path.parent)
        return path

    def added(self, rel: str, n: int, pages: int = 1) -> None:
        if rel.endswith(".html"):
            self.pages += pages
            self.bytes += n

    def write(self, rel: str, text: str) -> None:
        encoded = text.encode("utf-8")
        self.place(rel).write_bytes(encoded)
        self.added(rel, len(encoded))

    def link(self, rel: str, earlier: Path) -> None:
        """The unchanged page `earlier` (a previous version's report) taken over as `rel`."""
        export.link_or_copy(earlier, self.place(rel))
        self.added(rel, earlier.stat().st_size)


# Article pages can be rendered by worker processes, each with its own read-only connection to the
# lake, POOL_CHUNK articles at a time: $FACTLEDGER_REPORT_WORKERS of them (default 1: none) when at
# least POOL_MIN pages are to be rendered. Off by default: on a quiet 2-core machine two workers
# halve the time of 100,000 pages, but the three processes' memory adds up past 1.5 GB (each has
# its own DuckDB and imports), and on a busy machine they finished no sooner (docs/performance.md).
REPORT_WORKERS_ENV = "FACTLEDGER_REPORT_WORKERS"
POOL_MIN = 20000
POOL_CHUNK = 2500


def render_workers(pages: int, env=os.environ) -> int:
    """How many processes render `pages` article pages (1: this one)."""
    configured = (env.get(REPORT_WORKERS_ENV) or "").strip()
    if pages < POOL_MIN or not configured:
        return 1
    return max(1, int(configured))


def write_pages(con: duckdb.DuckDBPyConnection, version: versions.Version, publisher: export.Publisher,
                check_rows: dict | None, sink: Sink, warehouse: Path | None = None,
                progress: Callable[[str], None] | None = None, workers: int | None = None) -> None:
    """Write every page of the report into `sink`: the article pages (rendered as the published rows
    stream by, by `workers` processes: render_workers), then the overview, the article list, the
    diff and the source pages (their counts from SQL: no page is kept once written). With
    `warehouse`, an article page the previous version's report has and that would read the same
    (reuse.py) is linked from it instead of being rendered. The manifest (reuse.MANIFEST: the key
    of what the article pages depend on, and each page's file and the version it was written
    for) is written last."""
    ctx = data.context(con, version, publisher=publisher)
    earlier = [v for v in versions.versions(con) if v.version < version.version]
    previous = versions.version_row(con, earlier[-1].version) if earlier else None
    seen = _verdicts_seen(con, version, ctx.present, ctx.words)
    plan = reuse_plan(con, warehouse, version, publisher, seen) if warehouse is not None else reuse.Reuse(None)
    files = data.page_files(con, version.snapshot_id, ctx.present)
    env = environment()
    n_articles = con.execute(f"SELECT count(*) FROM {files}").fetchone()[0] if files else 0
    pages = Progress("report: article pages", n_articles, progress, unit="pages")
    taken = data.taken_over_table(con, files, plan) if files else None
    try:
        for _, file, _ in data.taken_over(con, taken):
            sink.link(file, plan.folder / file)
            pages.advance()
        to_render = (f"SELECT article_id FROM {files}" + (f" WHERE article_id NOT IN (SELECT article_id FROM {taken})" if taken else "")
                     if files else None)
        n_render = con.execute(f"SELECT count(*) FROM ({to_render})").fetchone()[0] if files else 0
        workers = workers or (render_workers(n_render) if warehouse is not None else 1)
        if workers > 1 and n_render:
            job = (str(warehouse), version, publisher, previous, seen, str(sink.folder))
            for n, n_bytes in _render_in_workers(con, job, to_render, taken, workers):
                sink.added(".html", n_bytes, n)
                pages.advance(n)
        else:
            render_article = article_renderer(_frame(ctx.vrow, list(ctx.source_pages.values()), previous, publisher, ctx.words,
                                                     seen), env)
            for page in data.iter_pages(con, version, ctx=ctx, reuse=plan, light=True, skip_light=True):
                sink.write(page.file, render_article(page))
                pages.advance()
        pages.finish()
        model = data.assemble(con, version, ctx, check_rows)
        chart_cache = charts.Cache(plan.folder)  # the same code drew the previous report's charts when its pages are taken over
        for rel, html in render(model, con, version, env=env, chart_cache=chart_cache):
            sink.write(rel, html)
        sink.write(charts.Cache.FILE, chart_cache.dumps())
        sink.write(reuse.MANIFEST, reuse.manifest_text(plan.key, data.manifest_rows(con, version, taken)))
    finally:
        data.drop_table(con, taken)


def _render_in_workers(con: duckdb.DuckDBPyConnection, job: tuple, to_render: str, taken: str | None,
                       workers: int) -> Iterator[tuple[int, int]]:
    """(pages, bytes) of each range of POOL_CHUNK articles of the query `to_render` as worker
    processes (spawned: no DuckDB state is forked) render and write them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    spans = data.chunks(con, to_render, POOL_CHUNK)
    Path(job[-1], "articles").mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                             initargs=job) as pool:
        futures = []
        for first, last in spans:
            skip = [a for a, in con.execute(f"SELECT article_id FROM {taken} WHERE article_id BETWEEN ? AND ?",
                                             [first, last]).fetchall()] if taken else []
            futures.append(pool.submit(_render_span, first, last, skip))
        for future in as_completed(futures):
            yield future.result()


_WORKER: dict = {}


def _init_worker(warehouse: str, version: versions.Version, publisher: export.Publisher, previous: dict | None,
                 seen: Counter, folder: str) -> None:
    import atexit
    import contextlib

    from factledger import lake

    stack = contextlib.ExitStack()
    atexit.register(stack.close)
    con = stack.enter_context(lake.connect(Path(warehouse), read_only=True))
    ctx = data.context(con, version, publisher=publisher)
    frame = _frame(ctx.vrow, list(ctx.source_pages.values()), previous, publisher, ctx.words, seen)
    _WORKER.update(con=con, version=version, ctx=ctx, render=article_renderer(frame), folder=Path(folder))


def _render_span(first: str, last: str, skip: list[str]) -> tuple[int, int]:
    """In a worker: render and write the pages of the articles from `first` to `last` (article_id
    order) but those of `skip`; (pages, bytes) written."""
    from factledger import sql

    w = _WORKER
    within = f"article_id BETWEEN {sql.literal(first)} AND {sql.literal(last)}"
    if skip:
        within += " AND article_id NOT IN (" + ", ".join(sql.literal(a) for a in skip) + ")"
    n = n_bytes = 0
    for page in data.iter_pages(w["con"], w["version"], ctx=w["ctx"], within=within):
        encoded = w["render"](page).encode("utf-8")
        (w["folder"] / page.file).write_bytes(encoded)
        n, n_bytes = n + 1, n_bytes + len(encoded)
    return n, n_bytes


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

    sink = Sink(staging)
    write_pages(con, version, publisher, check_rows, sink, warehouse, progress)
    if check_rows:
        (staging / CHECK_ROWS).write_text(json.dumps(check_rows, indent=1, default=str), encoding="utf-8")
    (staging / SIZE).write_text(json.dumps({"pages": sink.pages, "bytes": sink.bytes}))
    (staging / STAMP).write_text(stamp)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return Written(target / "index.html", sink.pages, sink.bytes, time.perf_counter() - started)


def _size(folder: Path) -> tuple[int, int]:
    """Pages and bytes of a written report (as SIZE says; counted again for a report without it)."""
    try:
        found = json.loads((folder / SIZE).read_text(encoding="utf-8"))
        return int(found["pages"]), int(found["bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        files = [p for p in folder.rglob("*.html")]
        return len(files), sum(p.stat().st_size for p in files)
