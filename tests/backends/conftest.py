"""Session-scoped PostgreSQL and S3 servers (started here, on loopback and free ports, torn down
after), and per-test lakes on them: a fresh database and a fresh S3 prefix each."""
from __future__ import annotations

import itertools
import os

import pytest

from factledger import lake
from tests.backends import servers

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg(tmp_path_factory):
    try:
        with servers.postgres_server(tmp_path_factory.mktemp("postgres")) as server:
            yield server
    except servers.Unavailable as why:
        pytest.skip(f"no PostgreSQL server: {why}")


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    try:
        with servers.s3_server(tmp_path_factory.mktemp("seaweedfs")) as server:
            yield server
    except servers.Unavailable as why:
        pytest.skip(f"no S3 server: {why}")


def backend_env(pg: servers.Postgres, s3: servers.S3, name: str) -> dict[str, str]:
    """The environment of a lake on a new database `name` with its files under s3://<bucket>/<name>/lake/."""
    pg.create_database(name)
    return {lake.CATALOG_ENV: "postgres:" + pg.conninfo(name), **s3.env(f"{name}/lake")}


@pytest.fixture
def backend(pg, s3, monkeypatch, request) -> dict[str, str]:
    """A fresh lake on Postgres + S3, configured through the environment (this test only)."""
    name = f"t{next(_counter)}_{os.getpid()}"
    env = backend_env(pg, s3, name)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def subprocess_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update({"FACTLEDGER_RAW": "", "FACTLEDGER_WAREHOUSE": ""}, **extra)
    return env
