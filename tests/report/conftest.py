"""The report tests share one warehouse with two published versions (each pipeline run ~10 s):
version 1 from the checkout's raw/ (the session's published lake, copied), version 2 after one exact claim's number was edited and a
hostile article (script in the headline, javascript: URL, formula-like outlet) was added."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from factledger import lake, versions
from tests.conftest import copy_warehouse, run_pipeline

HOSTILE_ID = "zz_hostile_article"
HOSTILE_TITLE = "</script><script>alert('title')</script> Headline & more"
HOSTILE_URL = "javascript:alert(document.domain)"
HOSTILE_OUTLET = "=HYPERLINK(\"http://attacker.invalid\",\"click\")"


@dataclass
class Built:
    raw: Path
    warehouse: Path
    results: list  # the two runs' ExecuteInProcessResults
    run_warehouses: list  # the warehouse each of them ran on (the first: the session's published lake)
    edited_article: str
    old_phrase: str
    new_phrase: str

    @property
    def exports(self) -> Path:
        return self.warehouse / "exports"

    def report(self, version: int) -> Path:
        return self.exports / f"v{version}" / "report"


def _rows(warehouse: Path, sql: str) -> list[dict]:
    with lake.connect(warehouse, read_only=True) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


def _hostile_article(raw: Path, sentence: str) -> None:
    source_ids = sorted(p.name for p in (raw / "sources").iterdir() if p.is_dir())
    title = HOSTILE_TITLE.replace("'", "''")
    outlet = HOSTILE_OUTLET.replace("'", "''")
    (raw / "articles" / f"{HOSTILE_ID}.md").write_text(
        "---\n"
        f"outlet: '{outlet}'\n"
        f"title: '{title}'\n"
        f"url: '{HOSTILE_URL}'\n"
        "published: 2024-09-29\n"
        f"cites: [{source_ids[0]}]\n"
        "---\n"
        f"{sentence}\n\nA second paragraph with </script><b>markup</b> and a javascript:alert(2) link.\n",
        encoding="utf-8",
    )


@pytest.fixture(scope="package")
def built(tmp_path_factory, published_lake) -> Built:
    # Version 1: the session's real run on the checkout's raw/ (tests/conftest.py), copied.
    root = tmp_path_factory.mktemp("report")
    raw = shutil.copytree(published_lake.raw, root / "raw")
    warehouse = copy_warehouse(published_lake.warehouse, root / "warehouse")
    first = published_lake.result
    exact = _rows(warehouse, "SELECT c.article_id, c.start, c.\"end\", c.phrase, c.value, c.sentence, a.source_path, a.body "
                             "FROM lake.published.claims c JOIN lake.published.articles a USING (article_id) "
                             "WHERE c.verdict = 'exact' ORDER BY c.article_id, c.start LIMIT 1")[0]
    path = raw / exact["source_path"]
    text = path.read_text(encoding="utf-8")
    new_phrase = f"{int(exact['value']) * 3 + 7:,}"
    body_at = text.index(exact["body"])
    start = body_at + exact["start"]
    assert text[start:start + len(exact["phrase"])] == exact["phrase"]
    path.write_text(text[:start] + new_phrase + text[start + len(exact["phrase"]):], encoding="utf-8")
    _hostile_article(raw, exact["sentence"])
    second = run_pipeline(raw, warehouse)
    assert second.success, "the second run failed"
    return Built(raw, warehouse, [first, second], [published_lake.warehouse, warehouse], exact["article_id"],
                 exact["phrase"], new_phrase)


@pytest.fixture(scope="package")
def version2(built):
    with lake.connect(built.warehouse, read_only=True) as con:
        return versions.resolve(con, 2)
