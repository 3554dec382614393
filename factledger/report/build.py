"""Render and write the report of one published version (see the package docstring)."""
from __future__ import annotations

import datetime as dt
import hashlib
import itertools
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
import pyarrow as pa
from markupsafe import Markup

from factledger import export, tables, versions
from factledger.progress import Progress
from factledger.report import charts, data, explain, fragments, reuse, summary
from factledger.report.codehash import code_hash

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
REPORT_DIR = "report"
STAMP = ".stamp"
SIZE = ".size.json"  # the report's pages and bytes, for a report kept unchanged
CHECK_ROWS = "check_rows.json"
CODE_HASH = ".report_code_hash.json"  # in exports/: the report's code hash and the stats of the files it read
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


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between processes in Jinja2's cache folder (under the system's
    temporary directory, the user's own): compiling the report's templates cost ~0.5 s a process.
    Jinja2 takes a template from it only while its source is the same (a checksum)."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):
        return None


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_bytecode_cache(),
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


def list_pages(env: jinja2.Environment, common: dict, pages: Iterator[tuple[int, int, str]], total: int,
               per_page: int | None = None) -> Iterator[tuple[str, str]]:
    """The article list, `per_page` (summary.ARTICLES_PER_PAGE) articles a page (articles.html,
    articles-2.html, ...), from `pages` (summary.list_page_rows: each page's number, rows and their
    HTML, joined in SQL)."""
    per_page = per_page or summary.ARTICLES_PER_PAGE
    template = env.get_template("articles.html")
    n_pages = summary.list_pages(total, per_page)
    rendered = 0
    for number, count, rows_html in pages:
        yield summary.list_file(number), template.render(
            common, root="", rows_html=Markup(rows_html), count=count, page=number, pages=n_pages, total=total,
            per_page=per_page, first=(number - 1) * per_page + 1, file_of=summary.list_file, window=pager(number, n_pages))
        rendered += 1
    if not rendered:
        yield from list_pages(env, common, iter([(1, 0, "")]), total, per_page)


ROWS_BATCH = 5000  # list rows built in Python and handed to DuckDB at a time


def list_rows_table(con: duckdb.DuckDBPyConnection, version: versions.Version, files: str | None, present: list[str],
                    styles: list[explain.VerdictStyle], taken: str | None = None) -> str:
    """A new table (memory database; the caller drops it) of every article's row of the article
    list, (article_id, list_row: fragments.list_row): those of `taken` (data.taken_over_table) as an
    earlier report wrote them, the others built from their published rows."""
    table = data.new_table("report_list_rows")
    con.execute(f"CREATE TABLE {table} (article_id VARCHAR, list_row VARCHAR)")
    if files is None:
        return table
    if taken:
        con.execute(f"INSERT INTO {table} SELECT article_id, list_row FROM {taken} WHERE list_row IS NOT NULL")
    to_build = f"SELECT article_id FROM {files}" + (f" WHERE article_id NOT IN (SELECT article_id FROM {table})" if taken else "")
    if taken and not con.execute(f"SELECT count(*) FROM ({to_build})").fetchone()[0]:
        return table
    badges = fragments.count_badges(styles)
    built = data.new_table("report_list_build")  # apart: the links stream while rows are inserted
    con.execute(f"CREATE TABLE {built} AS {to_build}")
    try:
        links = summary.article_links(con, version, files, present, f"SELECT article_id FROM {built}")
        while batch := list(itertools.islice(links, ROWS_BATCH)):
            rows = pa.table({"article_id": [link.article_id for link in batch],
                             "list_row": [fragments.list_row(link, badges) for link in batch]})
            tables.execute_over(con, f"INSERT INTO {table} SELECT * FROM {tables.ARROW_ROWS}", rows)
    finally:
        data.drop_table(con, built)
    return table


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
           env: jinja2.Environment | None = None, chart_cache: charts.Cache | None = None,
           list_rows: str | None = None, present: list[str] | None = None) -> Iterator[tuple[str, str]]:
    """Every page of the report but the article pages, as (relative path, HTML), one at a time:
    the overview, the pages of the article list (joined in SQL), the diff, the source pages.
    `chart_cache`: charts drawn before (charts.Cache); `list_rows`: the article list's rows
    (list_rows_table; default: every row built here); `present`: the version's published tables."""
    env = env or environment()
    common = _common(model, env)
    styles = model.styles()
    overview = model.overview
    shown = chart_specs(model)

    def chart(page: str) -> str:
        if page not in shown:
            return ""
        title, rows, salt = shown[page]
        return charts.stacked_bars(title, rows, styles, salt, chart_cache)

    yield "index.html", env.get_template("index.html").render(common, root="", overview=overview, outlet_chart=chart("index.html"),
                                                              miscited=model.miscited())
    present = present if present is not None else versions.tables_at(con, version.snapshot_id)
    files = data.page_files(con, version.snapshot_id, present)
    rows = list_rows if list_rows is not None else list_rows_table(con, version, files, present, styles)
    try:
        yield from list_pages(env, common, summary.list_page_rows(con, version, files, present, rows, fragments.list_row_start_sql),
                              overview.articles)
    finally:
        if list_rows is None:
            data.drop_table(con, rows)
    changed_verdicts = {c.get("verdict") for _, c, _ in model.diff.claim_changes if c}
    yield "diff.html", env.get_template("diff.html").render(
        common, root="", refs=model.diff.articles,
        styles={v: explain.style(v, model.words) for v in {*model.verdict_order(), *changed_verdicts} if v})
    source = env.get_template("source.html")
    for s in model.sources:
        yield s.file, source.render(common, root="../", source=s, chart=chart(s.file))


def chart_specs(model: data.Report) -> dict[str, tuple[str, list, str]]:
    """The report's charts, by the page showing each: (title, rows, salt), as charts.stacked_bars
    takes them: the outlets' on the overview, each cited source's figures on its page."""
    specs = {"index.html": ("Claims per outlet, by verdict", model.overview.chart_rows, "outlets")}
    for i, s in enumerate(model.sources):
        cited = [(f.cell, dict(f.counts)) for f in s.figures if f.cited]
        cited.sort(key=lambda t: -sum(t[1].values()))
        if cited:
            specs[s.file] = ("Citations per figure, by verdict", cited, f"source-{i}")
    return specs


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
               seen: Counter | None = None, ctx: data.Context | None = None, since: data.Since | None = None) -> reuse.Reuse:
    """The article pages of the previous version's report that `version`'s report takes over
    (the export's ClaimReviews follow the same plan). `ctx`, `since`: the version's context and
    the previous version, as read before."""
    words = explain.wording()
    present = ctx.present if ctx is not None else versions.tables_at(con, version.snapshot_id)
    if seen is None:
        seen = _verdicts_seen(con, version, present, words)
    legend = _frame({}, [], None, publisher, words, seen).verdict_order()
    key = reuse.page_key(con, version, publisher, legend, code_hash(export.exports_dir(warehouse) / CODE_HASH),
                         ctx.vrow if ctx is not None else None, present)
    if since is None:
        return reuse.plan(con, warehouse, version, key)
    return reuse.plan(con, warehouse, version, key, since.feeds, [since.previous] if since.previous else [])


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

    def write(self, rel: str, text: str) -> int:
        """Write `text` as `rel`; its bytes."""
        encoded = text.encode("utf-8")
        self.place(rel).write_bytes(encoded)
        self.added(rel, len(encoded))
        return len(encoded)

    def link_pages(self, earlier: Path, pages) -> list[str]:
        """Hard-link the unchanged pages `pages` ((file, bytes, article_id), in folders of their
        own) of the report `earlier` into this one, in one pass of os.link on plain paths (copied
        where links fail); the article_id of each page missing from `earlier`."""
        missing, source, target = [], f"{earlier}{os.sep}", f"{self.folder}{os.sep}"
        for file, n_bytes, article_id in pages:
            try:
                os.link(source + file, target + file)
            except FileNotFoundError:
                parent = (self.folder / file).parent
                if parent in self.folders or not (earlier / file).is_file():
                    missing.append(article_id)
                    continue
                self.place(file)  # the folder, made once
                os.link(source + file, target + file)
            except OSError:
                shutil.copy2(source + file, self.place(file))
            self.added(file, n_bytes if n_bytes is not None else os.stat(target + file).st_size)
        return missing


# Article pages can be rendered by worker processes, each with its own read-only connection to the
# lake, POOL_CHUNK articles at a time: $FACTLEDGER_REPORT_WORKERS of them (default 1: none) when at
# least POOL_MIN pages are to be rendered. Off by default: on a quiet 2-core machine two workers
# halve the time of 100,000 pages, but the three processes' memory adds up past 1.5 GB (each has
# its own DuckDB and imports), and on a busy machine they finished no sooner (docs/performance.md).
REPORT_WORKERS_ENV = "FACTLEDGER_REPORT_WORKERS"
KEEP_BUILT = 500  # article pages rendered in this process whose claims are kept for the diff page (data.Since.built)
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
    """Write every page of the report into `sink`. With `warehouse`, the article pages the previous
    version's report has and that would read the same (reuse.py) are hard-linked from it, in one
    pass over its PAGES; the others are rendered as their published rows stream by (by `workers`
    processes: render_workers). Then the overview, the article list (the rows of unchanged articles
    as the previous report wrote them, joined into pages in SQL), the diff and the source pages
    (their counts from SQL), and last the manifest (reuse.PAGES: each page's file, the version it was
    written for, its bytes and its list row)."""
    ctx = data.context(con, version, publisher=publisher)
    since = data.Since.of(con, version, ctx.present)
    previous = since.row
    seen = _verdicts_seen(con, version, ctx.present, ctx.words)
    plan = reuse_plan(con, warehouse, version, publisher, seen, ctx, since) if warehouse is not None else reuse.Reuse(None)
    files = data.page_files(con, version.snapshot_id, ctx.present)
    env = environment()
    n_articles = con.execute(f"SELECT count(*) FROM {files}").fetchone()[0] if files else 0
    pages = Progress("report: article pages", n_articles, progress, unit="pages")
    taken = data.taken_over_table(con, files, plan) if files else None
    made: list[str] = []
    try:
        if taken:
            missing = sink.link_pages(plan.folder, data.rows_of(con, f"SELECT file, bytes, article_id FROM {taken}"))
            if missing:  # gone from the earlier report: rendered again
                con.execute(f"DELETE FROM {taken} WHERE article_id IN (SELECT unnest(?::VARCHAR[]))", [missing])
            pages.advance(sink.pages)
        sizes: dict[str, int] = {}
        if files:
            to_render = f"SELECT article_id FROM {files}" + (f" WHERE article_id NOT IN (SELECT article_id FROM {taken})" if taken else "")
            n_render = con.execute(f"SELECT count(*) FROM ({to_render})").fetchone()[0]
            workers = workers or (render_workers(n_render) if warehouse is not None else 1)
            if workers > 1 and n_render:
                job = (str(warehouse), version, publisher, previous, seen, str(sink.folder))
                for written in _render_in_workers(con, job, to_render, taken, workers):
                    for article_id, n_bytes in written:
                        sizes[article_id] = n_bytes
                        sink.added(".html", n_bytes)
                    pages.advance(len(written))
            elif n_render:
                render_article = article_renderer(_frame(ctx.vrow, list(ctx.source_pages.values()), previous, publisher,
                                                         ctx.words, seen), env)
                keep = n_render <= KEEP_BUILT
                for page in data.iter_pages(con, version, ctx=ctx, within=f"article_id IN ({to_render})"):
                    sizes[page.article["article_id"]] = sink.write(page.file, render_article(page))
                    if keep:
                        since.built[page.article["article_id"]] = page.claims
                    pages.advance()
        pages.finish()
        chart_cache = charts.Cache(plan.folder)  # the same code drew the previous report's charts when its pages are taken over

        def draw_charts(model: data.Report) -> None:  # while the diff is computed
            styles = model.styles()
            chart_cache.prefetch([(title, rows, styles, salt) for title, rows, salt in chart_specs(model).values()])

        model = data.assemble(con, version, ctx, check_rows, counted=draw_charts, since=since)
        list_rows = list_rows_table(con, version, files, ctx.present, model.styles(), taken)
        made.append(list_rows)
        for rel, html in render(model, con, version, env=env, chart_cache=chart_cache, list_rows=list_rows,
                                    present=ctx.present):
            sink.write(rel, html)
        sink.write(charts.Cache.FILE, chart_cache.dumps())
        rendered = data.new_table("report_rendered")
        made.append(rendered)
        tables.execute_over(con, f"CREATE TABLE {rendered} AS SELECT * FROM {tables.ARROW_ROWS}",
                            pa.table({"article_id": pa.array(list(sizes), pa.string()),
                                      "bytes": pa.array(list(sizes.values()), pa.int64())}))
        reuse.write_manifest(con, sink.folder, plan.key, data.manifest_sql(version, files, taken, rendered, list_rows))
    finally:
        for table in [taken, *made]:
            data.drop_table(con, table)


def _render_in_workers(con: duckdb.DuckDBPyConnection, job: tuple, to_render: str, taken: str | None,
                       workers: int) -> Iterator[list[tuple[str, int]]]:
    """(article_id, bytes) of the pages of each range of POOL_CHUNK articles of the query
    `to_render` as worker processes (spawned: no DuckDB state is forked) render and write them."""
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


def _render_span(first: str, last: str, skip: list[str]) -> list[tuple[str, int]]:
    """In a worker: render and write the pages of the articles from `first` to `last` (article_id
    order) but those of `skip`; (article_id, bytes) of each page written."""
    from factledger import sql

    w = _WORKER
    within = f"article_id BETWEEN {sql.literal(first)} AND {sql.literal(last)}"
    if skip:
        within += " AND article_id NOT IN (" + ", ".join(sql.literal(a) for a in skip) + ")"
    written = []
    for page in data.iter_pages(w["con"], w["version"], ctx=w["ctx"], within=within):
        encoded = w["render"](page).encode("utf-8")
        (w["folder"] / page.file).write_bytes(encoded)
        written.append((page.article["article_id"], len(encoded)))
    return written


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
    code_hash(export.exports_dir(warehouse) / CODE_HASH)  # from the last process's, when no file it read changed
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
