"""The lake configuration and the executor choice, without servers."""
from __future__ import annotations

from pathlib import Path

import pytest

from factledger import lake
from orchestration import executors

S3 = {"FACTLEDGER_S3_KEY_ID": "AKIDEXAMPLE", "FACTLEDGER_S3_SECRET": "s3cr3t-value-xyz",
      "FACTLEDGER_S3_ENDPOINT": "http://127.0.0.1:9000/", "FACTLEDGER_S3_URL_STYLE": "path",
      "FACTLEDGER_S3_USE_SSL": "false"}


def test_default_is_sqlite_and_parquet_under_the_warehouse(tmp_path):
    config = lake.resolve(tmp_path, env={})
    assert config.catalog == f"sqlite:{tmp_path.resolve()}/lake/catalog.sqlite"
    assert config.data_path == f"{tmp_path.resolve()}/lake/data/"
    assert config.is_default_local and config.s3 is None
    assert lake.attach_sql(tmp_path).startswith("ATTACH 'ducklake:sqlite:")


def test_postgres_and_s3_from_the_environment(tmp_path):
    env = {"FACTLEDGER_CATALOG": "postgres:dbname=lake host=db password=hunter22 user=fl",
           "FACTLEDGER_DATA_PATH": "s3://bucket/news/lake", **S3}
    config = lake.resolve(tmp_path, env=env)
    assert config.backend == "postgres" and config.data_path == "s3://bucket/news/lake/"
    assert config.s3.endpoint == "127.0.0.1:9000" and not config.s3.use_ssl and config.s3.url_style == "path"
    text = config.describe() + repr(config) + config.attach_sql()
    assert "hunter22" not in config.describe() and "s3cr3t" not in text
    assert "password=***" in config.describe()
    assert "s3cr3t-value-xyz" in config.s3.secret_sql()  # handed to DuckDB only
    assert lake.scrub("failed: password=hunter22 and s3cr3t-value-xyz", config) == "failed: password=*** and ***"
    # The lock key names the database, not the credentials.
    other = lake.resolve(tmp_path, env={**env, "FACTLEDGER_CATALOG": "postgres:user=other dbname=lake host=db"})
    assert config.lock_key() == other.lock_key()


@pytest.mark.parametrize("env, setting", [
    ({"FACTLEDGER_DATA_PATH": "s3://bucket/x/"}, "FACTLEDGER_S3_KEY_ID and FACTLEDGER_S3_SECRET are not set"),
    ({"FACTLEDGER_DATA_PATH": "s3://bucket/x/", "FACTLEDGER_S3_KEY_ID": "k"}, "FACTLEDGER_S3_SECRET is not set"),
    ({"FACTLEDGER_DATA_PATH": "gs://bucket/x/"}, "FACTLEDGER_DATA_PATH must be a local folder or s3://"),
    ({"FACTLEDGER_CATALOG": "mysql:db"}, "FACTLEDGER_CATALOG must be sqlite:<path> or postgres:<conninfo>"),
    ({"FACTLEDGER_DATA_PATH": "s3://bucket/x/", **S3, "FACTLEDGER_S3_URL_STYLE": "odd"}, "FACTLEDGER_S3_URL_STYLE"),
])
def test_incomplete_configuration_names_the_setting(tmp_path, env, setting):
    with pytest.raises(lake.LakeConfigError, match=setting.replace("(", r"\(")):
        lake.resolve(tmp_path, env=env)


def test_connections_get_a_memory_limit_and_spill_to_a_temporary_folder_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setenv(lake.MEMORY_LIMIT_ENV, "64MB")
    with lake.connect(tmp_path) as con, lake.connect(tmp_path, read_only=True) as other:
        limit, spill = con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
        assert limit == "61.0 MiB"  # 64 MB as DuckDB prints it
        assert spill != other.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        # A sort of ~400 MB of strings fits in 64 MB only by spilling.
        assert con.execute("SELECT count(*), max(s) FROM (SELECT repeat('x', 100) || i AS s FROM range(3000000) r(i) "
                           "ORDER BY s DESC)").fetchone() == (3000000, "x" * 100 + "999999")
        assert Path(spill).is_dir()
    assert not Path(spill).exists()  # gone with its connection


def test_a_memory_limit_duckdb_cannot_read_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(lake.MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(lake.LakeConfigError, match="FACTLEDGER_MEMORY_LIMIT='lots'"):
        with lake.connect(tmp_path):
            pass
    monkeypatch.delenv(lake.MEMORY_LIMIT_ENV)
    assert lake.memory_limit() == lake.DEFAULT_MEMORY_LIMIT


def test_where_exports_go(tmp_path):
    assert lake.exports_location(tmp_path, env={}) == f"{Path(tmp_path).resolve()}/exports/"
    assert lake.exports_location(tmp_path, env={"FACTLEDGER_DATA_PATH": "s3://b/news/lake/"}) == "s3://b/news/exports/"
    assert lake.exports_location(tmp_path, env={"FACTLEDGER_EXPORTS": "s3://other/x"}) == "s3://other/x/"


def test_in_process_is_the_default_executor_and_celery_is_selectable(monkeypatch):
    monkeypatch.delenv(executors.EXECUTOR_ENV, raising=False)
    assert executors.default_executor().name == "in_process"
    monkeypatch.setenv(executors.EXECUTOR_ENV, "celery")
    with pytest.raises(ValueError, match="FACTLEDGER_CELERY_BROKER and FACTLEDGER_CELERY_BACKEND"):
        executors.default_executor()
    monkeypatch.setenv(executors.BROKER_ENV, "sqla+postgresql+psycopg2://u@h/c")
    monkeypatch.setenv(executors.BACKEND_ENV, "db+postgresql+psycopg2://u@h/c")
    assert executors.default_executor().name == "celery"


def test_postgres_instance_file_is_valid(tmp_path, monkeypatch):
    import yaml
    from dagster._core.instance.config import dagster_instance_config

    from factledger.paths import PROJECT_ROOT

    text = (PROJECT_ROOT / "orchestration" / "dagster_postgres.yaml").read_text()
    (tmp_path / "dagster.yaml").write_text(text)
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "FACTLEDGER_DAGSTER_PG_URL"}
    template = yaml.safe_load((PROJECT_ROOT / "orchestration" / "dagster.yaml").read_text())
    assert config["concurrency"] == template["concurrency"]
