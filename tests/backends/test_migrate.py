"""`factledger lake migrate`: a SQLite-catalog lake with two published versions, moved to Postgres
+ S3, answers `versions`, `sql --version N` and `diff` exactly as before."""
from __future__ import annotations

import shutil

import pytest

from factledger import lake
from tests.backends.conftest import backend_env
from tests.backends.test_lake_on_postgres_s3 import factledger, s3_keys
from tests.conftest import copy_warehouse
from tests.publish.conftest import CHANGED_ARTICLE, change_article

pytestmark = pytest.mark.slow  # starts PostgreSQL and S3 servers

QUESTIONS = [
    ("versions", "--csv"),
    ("sql", "--csv", "--version", "1", "SELECT article_id, title, sha256 FROM articles ORDER BY ALL"),
    ("sql", "--csv", "--version", "2", "SELECT article_id, title, sha256 FROM articles ORDER BY ALL"),
    ("sql", "--csv", "--version", "1", "SELECT * FROM figures ORDER BY ALL"),
    ("sql", "--csv", "--version", "2", "SELECT count(*), count(DISTINCT article_id) FROM claims"),
    ("sql", "--csv", "SELECT version, snapshot_id, fingerprint FROM dataset_versions ORDER BY 1"),
    ("diff", "1", "2"),
    ("diff", "1", "2", "--csv"),
]


@pytest.fixture(scope="module")
def migrated(pg, s3, tmp_path_factory, published_lake):
    # Version 1 is the session's local `factledger run` (tests/conftest.py), copied; one edit makes version 2.
    root = tmp_path_factory.mktemp("migrate")
    raw = shutil.copytree(published_lake.raw, root / "raw")
    warehouse = copy_warehouse(published_lake.warehouse, root / "warehouse")
    local = {lake.CATALOG_ENV: "", lake.DATA_PATH_ENV: ""}
    change_article(raw)
    assert factledger(local, "run", "--raw", raw, "--warehouse", warehouse)[0] == 0
    before = [factledger(local, *q, "--warehouse", warehouse) for q in QUESTIONS]

    target = backend_env(pg, s3, "migrated")
    s3_only = {k: v for k, v in target.items() if k != lake.CATALOG_ENV}
    moved = factledger({**s3_only, lake.CATALOG_ENV: ""}, "lake", "migrate", "--to", target[lake.CATALOG_ENV],
                       "--data-path", target[lake.DATA_PATH_ENV], "--warehouse", warehouse)
    after = [factledger(target, *q) for q in QUESTIONS]
    again = factledger({**s3_only, lake.CATALOG_ENV: ""}, "lake", "migrate", "--to", target[lake.CATALOG_ENV],
                       "--warehouse", warehouse)
    return {"before": before, "moved": moved, "after": after, "again": again, "warehouse": warehouse, "env": target}


def test_migrate_reports_a_verified_copy(migrated, s3):
    rc, out, err = migrated["moved"]
    assert rc == 0, out + err
    assert "Migrated and verified" in out and "versions: 2 (1, 2)" in out
    assert migrated["env"]["FACTLEDGER_S3_SECRET"] not in out + err
    assert any(k.endswith(".parquet") for k in s3_keys(s3, "migrated/lake"))


@pytest.mark.parametrize("i", range(len(QUESTIONS)), ids=[" ".join(q[:2]) + f"#{n}" for n, q in enumerate(QUESTIONS)])
def test_migrated_lake_answers_exactly_as_before(migrated, i):
    before, after = migrated["before"][i], migrated["after"][i]
    assert before[0] == 0, before
    assert after == before


def test_the_diff_still_names_the_changed_article(migrated):
    _, out, _ = migrated["after"][QUESTIONS.index(("diff", "1", "2", "--csv"))]
    assert CHANGED_ARTICLE in out


def test_migrate_refuses_a_target_that_already_holds_a_lake(migrated):
    rc, out, err = migrated["again"]
    assert rc == 2 and "already holds a lake" in err
