"""Export a dataset version for people who don't use DuckDB: warehouse/exports/v<N>/ holds
<table>.csv.parts/ and <table>.parquet/ (folders of part files, the table in key order when read in
name order; each CSV part has the header line) per published table, a Frictionless (v2) datapackage.json, and
claim_reviews.jsonld (schema.org ClaimReview, as Google's fact-check markup asks, for every rated
claim). exports/latest is a symlink to the current version's folder (a LATEST text file says the
same where symlinks fail). The HTML report (factledger/report) is written into v<N>/report/.

Hostile values: CSV text cells a spreadsheet would run as a formula (starting = + - @ tab CR) are
prefixed with ' (OWASP); Parquet keeps the raw values. Only http(s) URLs are ever linked.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from factledger import catalog, versions
from factledger.report import explain
from schemas._base import LakeTable
from factledger import splice, sql

EXPORTS = "exports"
DATAPACKAGE_PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
TABLESCHEMA_PROFILE = "https://datapackage.org/profiles/2.0/tableschema.json"
PUBLISHER = "factledger"


def exports_dir(warehouse: Path) -> Path:
    return Path(warehouse) / EXPORTS


def version_dir(warehouse: Path, version: int) -> Path:
    return exports_dir(warehouse) / f"v{version}"


def frictionless_type(model: type[LakeTable], column: str) -> str:
    t = model.columns()[column].dtype.type
    if t.is_timestamp():
        return "datetime"
    if t.is_date():
        return "date"
    if t.is_boolean():
        return "boolean"
    if t.is_integer():
        return "integer"
    if t.is_floating():
        return "number"
    return "string"


def field_descriptor(model: type[LakeTable], name: str) -> dict:
    col = model.columns()[name]
    descriptor = {"name": name, "type": frictionless_type(model, name), "description": col.description or ""}
    constraints = {}
    if not col.nullable:
        constraints["required"] = True
        if descriptor["type"] == "string":
            # An empty text cell is a value here (e.g. no dimensions), not a missing one (Table Schema v2).
            descriptor["missingValues"] = []
    for check in col.checks:
        stats = check.statistics or {}
        if check.name == "isin":
            constraints["enum"] = list(stats["allowed_values"])
        elif check.name == "str_matches":
            constraints["pattern"] = stats["pattern"].lstrip("^").rstrip("$")
        elif check.name == "greater_than_or_equal_to":
            constraints["minimum"] = stats["min_value"]
    if constraints:
        descriptor["constraints"] = constraints
    return descriptor


def table_schema(model: type[LakeTable], columns: list[str], key: tuple[str, ...]) -> dict:
    schema = {
        "$schema": TABLESCHEMA_PROFILE,
        "fields": [field_descriptor(model, c) for c in columns],
        "missingValues": [""],
    }
    if key and all(k in columns for k in key) and len(key) < len(columns):
        schema["primaryKey"] = list(key)
    return schema


def datapackage(con: duckdb.DuckDBPyConnection, version: versions.Version, tables: list[str], created_at: str,
                folder: Path) -> dict:
    """The version's Frictionless data package; `folder`: the export folder, whose `<table>.csv.parts/`
    parts each table's resource lists (a multipart resource: every part has the header line)."""
    resources = []
    for name in tables:
        table = catalog.published_table(name)
        model = catalog.model_for(name)
        if model is None:
            continue
        columns = versions.columns_at(con, versions.relation_at(name, version.snapshot_id))
        resources.append({
            "name": name,
            "path": [f"{csv_parts(name)}/{part.name}" for part in splice.part_paths(folder / csv_parts(name))],
            "type": "table",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "title": name.replace("_", " "),
            "description": " ".join((model.__doc__ or "").split()),
            "schema": table_schema(model, [c for c in columns if c in model.columns()], catalog.row_key(model, table)),
        })
    sources = [{"title": "News articles (raw/articles)", "path": "raw/articles"}]
    if "sources" in tables:
        for title, issuer, url, source_id in con.execute(
            f"SELECT title, issuer, url, source_id FROM {versions.relation_at('sources', version.snapshot_id)} ORDER BY source_id"
        ).fetchall():
            entry = {"title": title or source_id}
            if url:
                entry["path"] = url
            if issuer:
                entry["title"] = f"{entry['title']} ({issuer})"
            sources.append(entry)
    return {
        "$schema": DATAPACKAGE_PROFILE,
        "name": "factledger",
        "title": "factledger: news articles' numeric claims checked against official figures",
        "version": f"{version.version}.0.0",
        "created": created_at,
        "description": f"Dataset version {version.version} (DuckLake snapshot {version.snapshot_id}). "
        "Field descriptions come from the pandera schemas; see docs/data_dictionary.md.",
        "sources": sources,
        "resources": resources,
    }


# --- who publishes, and where the report is served --------------------------------------------

PUBLISHER_NAME_ENV = "FACTLEDGER_PUBLISHER_NAME"
PUBLISHER_URL_ENV = "FACTLEDGER_PUBLISHER_URL"
REPORT_URL_ENV = "FACTLEDGER_REPORT_URL"
DEFAULT_PUBLISHER_URL = "https://factledger.example.org/"


@dataclass(frozen=True)
class Publisher:
    """The organisation that signs the ClaimReviews, and the public address of the report folder
    (`<report_url>/v<N>/<page>` is a review's url)."""

    name: str
    url: str
    report_url: str

    @classmethod
    def from_env(cls) -> "Publisher":
        url = safe_url(os.environ.get(PUBLISHER_URL_ENV) or "") or DEFAULT_PUBLISHER_URL
        report = safe_url(os.environ.get(REPORT_URL_ENV) or "") or url.rstrip("/") + "/report/"
        return cls(os.environ.get(PUBLISHER_NAME_ENV) or PUBLISHER, url, report)

    def review_url(self, version: int, page: str, anchor: str | None = None) -> str:
        return f"{self.report_url.rstrip('/')}/v{int(version)}/{page}" + (f"#{anchor}" if anchor else "")


# --- hostile cells and links --------------------------------------------------------------------

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_REGEX = "^[=+@\\t\\r-]"


def safe_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) address with a host, else None (javascript:, data:,
    relative paths, spaces, quotes or control characters are never linked)."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(c) < 33 or c in '<>"\\`' for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url


def neutralise_cell(value):
    """A text cell a spreadsheet would run as a formula, prefixed with ' (OWASP); else as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralised_select(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """SELECT list for a CSV copy of `relation`: text columns neutralised as neutralise_cell does,
    other columns as they are (a number is never a formula)."""
    exprs = []
    for name, type_, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall():
        col = catalog.quote(name)
        if str(type_).upper() == "VARCHAR":
            exprs.append(f"CASE WHEN regexp_matches({col}, '{_FORMULA_REGEX}') THEN chr(39) || {col} ELSE {col} END AS {col}")
        else:
            exprs.append(col)
    return ", ".join(exprs)


# --- ClaimReview -----------------------------------------------------------------------------


def rated(verdict: str | None) -> bool:
    """Whether a verdict is published as a rating (not_in_source, unknown verdicts: no)."""
    return explain.style(verdict).rating is not None


def opening_words(body: str | None, limit: int = 90) -> str:
    text = " ".join((body or "").split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def unrated_reason(claim: dict, article: dict) -> str | None:
    """Why a claim gets no ClaimReview, in words; None when it gets one."""
    if not rated(claim.get("verdict")):
        return "not rated: the source has nothing to rate it against"
    if not safe_url(article.get("url")):
        return "no ClaimReview: the article has no http(s) address to point search engines at"
    if not article.get("published"):
        return "no ClaimReview: the article's publication date is unknown"
    return None


def claim_review(claim: dict, article: dict, review_url: str, publisher: Publisher, date_published: str,
                 explanation: str | None = None) -> dict | None:
    """One schema.org ClaimReview as Google's fact-check markup asks for it, or None when the
    claim is not rated (not_in_source) or its article has no http(s) URL or date to point at."""
    if unrated_reason(claim, article):
        return None
    look = explain.style(claim.get("verdict"))
    url = safe_url(article.get("url"))
    parts = urlsplit(url)
    scale = explain.wording()["rating_scale"]
    published = str(article["published"])[:10]
    claim_author = {"@type": "Organization", "name": article.get("outlet") or parts.hostname,
                    "url": f"{parts.scheme}://{parts.netloc}/"}
    review = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": review_url,
        "identifier": str(claim["claim_id"]),
        "claimReviewed": " ".join(str(claim.get("phrase") or "").split()),
        "datePublished": date_published[:10],
        "author": {"@type": "Organization", "name": publisher.name, "url": publisher.url},
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": look.rating,
            "bestRating": scale["best"],
            "worstRating": scale["worst"],
            "alternateName": look.label,
        },
        "itemReviewed": {
            "@type": "Claim",
            "author": claim_author,
            "datePublished": published,
            "appearance": {
                "@type": "NewsArticle",
                "url": url,
                "headline": article.get("title") or opening_words(article.get("body")),
                "datePublished": published,
                "author": claim_author,
            },
        },
    }
    if claim.get("sentence"):
        review["itemReviewed"]["text"] = " ".join(str(claim["sentence"]).split())
    if explanation:
        review["reviewRating"]["ratingExplanation"] = explanation
        review["reviewBody"] = explanation
    return review


def claim_reviews(con: duckdb.DuckDBPyConnection, version: versions.Version, tables: list[str], created_at: str,
                  publisher: Publisher | None = None) -> dict:
    """schema.org ClaimReview JSON-LD (an @graph) for every rated claim of the version whose
    article can be pointed at: the same reviews the report's article pages embed. (Holds every
    review: write_claim_reviews streams the same document to a file.)"""
    return {"@context": "https://schema.org",
            "@graph": list(iter_claim_reviews(con, version, created_at, publisher))}


def iter_claim_reviews(con: duckdb.DuckDBPyConnection, version: versions.Version, created_at: str,
                       publisher: Publisher | None = None, reuse=None):
    """Every ClaimReview of the version, article by article (a batch of articles at a time).
    `reuse` (factledger.report.reuse.Reuse): the article pages the version's report takes over
    from an earlier report, whose reviews keep the version they were written for."""
    for _, reviews in iter_review_groups(con, version, created_at, publisher, reuse):
        yield from reviews


def iter_review_groups(con: duckdb.DuckDBPyConnection, version: versions.Version, created_at: str,
                       publisher: Publisher | None = None, reuse=None, earlier: set[str] | None = None):
    """(article_id, its ClaimReviews) for every article that may carry one, in article_id order.
    `earlier`: articles whose reviews an earlier export holds as they are (pages `reuse` takes
    over): for those, None instead of the reviews, which are not built."""
    from factledger.report import data as report_data  # the report and the export read one model

    if not report_data.any_reviewable(con, version):
        return
    pages = report_data.iter_pages(con, version, publisher=publisher or Publisher.from_env(), created_at=created_at,
                                   reviewable_only=True, reuse=reuse, light=earlier or False)
    for page in pages:
        yield page.article["article_id"], None if page.reused else page.reviews


REVIEWS_INDEX = ".claim_reviews.index.json"  # beside claim_reviews.jsonld: article_id -> [offset, length, reviews]


def write_claim_reviews(con: duckdb.DuckDBPyConnection, version: versions.Version, tables: list[str], created_at: str,
                        path: Path, publisher: Publisher | None = None, reuse=None, earlier_file: Path | None = None) -> int:
    """Write claim_reviews.jsonld, byte for byte what json.dumps(claim_reviews(...), indent=2)
    gives, one review at a time; returns how many. Beside it, REVIEWS_INDEX says where each
    article's reviews are in it; `earlier_file` (an earlier export's claim_reviews.jsonld with its
    index): the reviews of the pages `reuse` takes over are copied from it, not built again."""
    index = _read_index(earlier_file) if earlier_file is not None and reuse is not None else {}
    written: dict[str, list[int]] = {}
    count, pos = 0, 0
    with open(path, "wb") as out, (open(earlier_file, "rb") if index else contextlib.nullcontext()) as earlier:
        def put(data: bytes) -> None:
            nonlocal pos
            out.write(data)
            pos += len(data)

        put(b'{\n  "@context": "https://schema.org",\n  "@graph": [')
        for article_id, reviews in iter_review_groups(con, version, created_at, publisher, reuse, set(index)):
            if reviews is None:
                offset, length, n = index[article_id]
                earlier.seek(offset)
                fragment = earlier.read(length)
            else:
                fragment = ",".join("\n    " + json.dumps(r, indent=2).replace("\n", "\n    ") for r in reviews).encode()
                n = len(reviews)
            if fragment and count:
                put(b",")
            written[article_id] = [pos, len(fragment), n]
            put(fragment)
            count += n
        put(b"\n  ]\n}\n" if count else b"]\n}\n")
    path.with_name(REVIEWS_INDEX).write_text(json.dumps(written), encoding="utf-8")
    return count


def _read_index(jsonld: Path) -> dict[str, list[int]]:
    try:
        return json.loads(jsonld.with_name(REVIEWS_INDEX).read_text(encoding="utf-8")) if jsonld.is_file() else {}
    except (OSError, ValueError):
        return {}


def previous_export(con: duckdb.DuckDBPyConnection, warehouse: Path, version: versions.Version) -> tuple[versions.Version, Path] | None:
    """The latest earlier version whose export folder is complete, with that folder."""
    for earlier in reversed([v for v in versions.versions(con) if v.version < version.version]):
        folder = version_dir(warehouse, earlier.version)
        if (folder / "datapackage.json").is_file():
            return earlier, folder
    return None


CSV_OPTIONS = "DELIMITER ',', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%f'"


def table_key(con: duckdb.DuckDBPyConnection, name: str, relation: str) -> tuple[str, ...]:
    """The columns a published table's exports are sorted by: its row key (every column for a
    table without a model)."""
    model = catalog.model_for(name)
    return catalog.row_key(model, catalog.published_table(name)) if model else tuple(versions.columns_at(con, relation))


def table_csv(con: duckdb.DuckDBPyConnection, name: str, relation: str) -> splice.CsvQuery:
    """The query a published table's CSV is: every column (text neutralised), in its key's order."""
    key = tuple(catalog.quote(k) for k in table_key(con, name, relation))
    return splice.CsvQuery(neutralised_select(con, relation), relation, key, CSV_OPTIONS)


def csv_parts(table: str) -> str:
    """The name of a table's folder of CSV parts in an export. Not `<table>.csv`: a folder by a CSV
    file's name trips the tools that look for one (a `find -name claims.csv` for the scorer's file)."""
    return f"{table}.csv.parts"


def export_version(con: duckdb.DuckDBPyConnection, warehouse: Path, version: versions.Version, created_at: str) -> Path:
    """Write exports/v<N>/ (atomically: a temp folder renamed into place) and return it. A table
    with the same rows as in the previous exported version has its parts (and its CSV's index)
    hard-linked from that version's folder; a changed table's CSV parts are spliced from the
    previous ones (factledger/splice.py: only the parts whose key range holds a changed row are
    written again, the others hard-linked), and its Parquet folder has one file per CSV part,
    likewise linked or written. No unchanged byte is copied: a one-article change writes a part or
    two per table it touches."""
    target = version_dir(warehouse, version.version)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    tables = versions.tables_at(con, version.snapshot_id)
    previous = previous_export(con, warehouse, version)
    for name in tables:
        files = [staging / csv_parts(name), staging / (name + ".parquet")]  # two folders of parts
        relation = versions.relation_at(name, version.snapshot_id)
        key = table_key(con, name, relation)
        earlier = [previous[1] / f.name for f in files] if previous is not None else []
        changed = versions.changed_keys(con, name, key, previous[0].snapshot_id, version.snapshot_id, limit=splice.MAX_CHANGED_KEYS) \
            if earlier and all(e.is_dir() for e in earlier) else None
        if changed == []:
            if splice.index_path(earlier[0]).is_file():
                splice.link_or_copy(splice.index_path(earlier[0]), splice.index_path(files[0]))
            for source, folder in zip(earlier, files):
                folder.mkdir()
                for part in sorted(source.iterdir()):
                    splice.link_or_copy(part, folder / part.name)
            continue
        csv = table_csv(con, name, relation)
        written = splice.write_csv_parts(con, csv, files[0], previous=earlier[0] if changed is not None else None, changed=changed)
        splice.write_parquet_parts(con, relation, csv.key, written, files[1],  # raw values
                                   previous=earlier[1] if changed is not None else None, columns=len(versions.columns_at(con, relation)))
    (staging / "datapackage.json").write_text(json.dumps(datapackage(con, version, tables, created_at, staging), indent=2) + "\n")
    from factledger.report import build, data as report_data  # the report's pages and the export's reviews follow one plan

    publisher = Publisher.from_env()
    plan = build.reuse_plan(con, warehouse, version, publisher) if report_data.any_reviewable(con, version) else None
    earlier = plan.folder.parent / "claim_reviews.jsonld" if plan is not None and plan.folder is not None else None
    write_claim_reviews(con, version, tables, created_at, staging / "claim_reviews.jsonld", publisher, plan, earlier)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def point_latest(warehouse: Path, version: int) -> Path:
    """exports/latest -> v<N>, swapped atomically; plus exports/LATEST with the folder name."""
    root = exports_dir(warehouse)
    link, tmp = root / "latest", root / "latest.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(f"v{version}", target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        pass  # no symlinks here (some filesystems): LATEST below still says which folder is current
    (root / "LATEST").write_text(f"v{version}\n")
    return link


def mirror_to_object_storage(warehouse: Path, version: int) -> str | None:
    """Copy the version's export folder (its report included) to the configured object storage,
    then its LATEST marker: `lake.exports_location` (FACTLEDGER_EXPORTS, or a sibling `exports/` of
    an S3 data path). Returns the URL written, or None when exports stay on local disk. The copy
    uses the lake's own S3 settings; nothing is written that the local folder does not have."""
    import pyarrow.fs as pafs

    from factledger import lake

    location = lake.exports_location(warehouse)
    if not location.startswith("s3://"):
        return None
    fs, base = lake.filesystem(lake.resolve(warehouse), location)
    source = version_dir(warehouse, version)
    pafs.copy_files(str(source), f"{base}v{version}", source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)
    with fs.open_output_stream(f"{base}LATEST") as out:
        out.write(f"v{version}\n".encode())
    return f"{location}v{version}/"

