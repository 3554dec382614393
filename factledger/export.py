"""Export a dataset version for people who don't use DuckDB: warehouse/exports/v<N>/ holds
<table>.csv and <table>.parquet per published table, a Frictionless (v2) datapackage.json, and
claim_reviews.jsonld (schema.org ClaimReview for every claim with a verdict). exports/latest is a
symlink to the current version's folder (a LATEST text file says the same where symlinks fail).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb

from factledger import publish
from schemas._base import LakeTable

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


def datapackage(con: duckdb.DuckDBPyConnection, version: publish.Version, tables: list[str], created_at: str) -> dict:
    resources = []
    for name in tables:
        table = publish.published_table(name)
        model = publish.model_for(name)
        if model is None:
            continue
        columns = publish.columns_at(con, publish.relation_at(name, version.snapshot_id))
        resources.append({
            "name": name,
            "path": f"{name}.csv",
            "type": "table",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "title": name.replace("_", " "),
            "description": " ".join((model.__doc__ or "").split()),
            "schema": table_schema(model, [c for c in columns if c in model.columns()], publish.row_key(model, table)),
        })
    sources = [{"title": "News articles (raw/articles)", "path": "raw/articles"}]
    if "sources" in tables:
        for title, issuer, url, source_id in con.execute(
            f"SELECT title, issuer, url, source_id FROM {publish.relation_at('sources', version.snapshot_id)} ORDER BY source_id"
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


def _pick(columns: list[str], *candidates: str) -> str | None:
    return next((c for c in candidates if c in columns), None)


def claim_reviews(con: duckdb.DuckDBPyConnection, version: publish.Version, tables: list[str], created_at: str) -> dict:
    """schema.org ClaimReview JSON-LD for every claim with a verdict, built as plain dicts."""
    graph: list[dict] = []
    if "claims" in tables:
        claims = publish.relation_at("claims", version.snapshot_id)
        columns = publish.columns_at(con, claims)
        verdict = _pick(columns, "verdict")
        text = _pick(columns, "sentence", "claim_text", "text", "quote", "phrase")
        phrase = _pick(columns, "phrase")
        if verdict and text:
            key = _pick(columns, "claim_id") or text
            explain = _pick(columns, "explanation", "verdict_reason", "reason", "note", "rationale")
            figure = _pick(columns, "figure_id", "matched_figure_id")
            article_join = "articles" in tables and "article_id" in columns
            select = [f"c.{key} AS id", f"c.{text} AS text", f"c.{verdict} AS verdict",
                      f"c.{explain}" if explain else "NULL", f"c.{figure}" if figure else "NULL", f"c.{phrase}" if phrase else "NULL"]
            select += ["a.article_id", "a.url", "a.title", "a.outlet", "CAST(a.published AS VARCHAR)"] if article_join else ["NULL"] * 5
            join = f" LEFT JOIN (SELECT * FROM {publish.relation_at('articles', version.snapshot_id)}) a USING (article_id)" if article_join else ""
            for cid, claim, rating, why, fig, words, article_id, url, title, outlet, published in con.execute(
                f"SELECT {', '.join(select)} FROM (SELECT * FROM {claims}) c{join} WHERE c.{verdict} IS NOT NULL ORDER BY 1"
            ).fetchall():
                appearance = {"@type": "NewsArticle"}
                for k, v in (("url", url), ("headline", title), ("datePublished", published), ("identifier", article_id)):
                    if v:
                        appearance[k] = v
                if outlet:
                    appearance["publisher"] = {"@type": "Organization", "name": outlet}
                review = {
                    "@context": "https://schema.org",
                    "@type": "ClaimReview",
                    "identifier": str(cid),
                    "claimReviewed": claim,
                    "datePublished": created_at[:10],
                    "author": {"@type": "Organization", "name": PUBLISHER},
                    "itemReviewed": {"@type": "Claim", "appearance": appearance},
                    "reviewRating": {"@type": "Rating", "alternateName": str(rating)},
                }
                if outlet:
                    review["itemReviewed"]["author"] = {"@type": "Organization", "name": outlet}
                if words:
                    review["itemReviewed"]["name"] = words
                if why:
                    review["reviewBody"] = why
                if fig:
                    review["isBasedOn"] = {"@type": "Dataset", "identifier": fig, "name": f"official figure {fig}"}
                graph.append(review)
    return {"@context": "https://schema.org", "@graph": graph}


def export_version(con: duckdb.DuckDBPyConnection, warehouse: Path, version: publish.Version, created_at: str) -> Path:
    """Write exports/v<N>/ (atomically: a temp folder renamed into place) and return it."""
    target = version_dir(warehouse, version.version)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    tables = publish.tables_at(con, version.snapshot_id)
    for name in tables:
        relation = publish.relation_at(name, version.snapshot_id)
        model = publish.model_for(name)
        order = ", ".join(publish.quote(k) for k in publish.row_key(model, publish.published_table(name))) if model else "ALL"
        query = f"SELECT * FROM {relation} ORDER BY {order}"
        con.execute(f"COPY ({query}) TO '{staging / (name + '.csv')}' (HEADER, DELIMITER ',', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%S.%f')")
        con.execute(f"COPY ({query}) TO '{staging / (name + '.parquet')}' (FORMAT parquet)")
    (staging / "datapackage.json").write_text(json.dumps(datapackage(con, version, tables, created_at), indent=2) + "\n")
    (staging / "claim_reviews.jsonld").write_text(json.dumps(claim_reviews(con, version, tables, created_at), indent=2) + "\n")
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
