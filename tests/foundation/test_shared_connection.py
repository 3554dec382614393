"""Inside a run the lake resource opens one connection and every step and check shares it; a block
that raises leaves no transaction open for the next one; teardown closes it."""
import dagster as dg
import duckdb
import pytest

from orchestration.resources import LakeResource


def test_a_run_shares_one_connection_and_a_failed_block_leaves_it_usable(tmp_path):
    with dg.build_resources({"lake": LakeResource(warehouse_dir=str(tmp_path))}) as resources:
        lake = resources.lake
        with lake.connect() as first:
            first.execute("CREATE TABLE IF NOT EXISTS scratch (x INTEGER)")
        with pytest.raises(RuntimeError), lake.transaction() as con:
            con.execute("INSERT INTO scratch VALUES (1)")
            raise RuntimeError("a step failed mid-write")
        with lake.connect() as second:
            assert second is first
            assert second.execute("SELECT count(*) FROM scratch").fetchone()[0] == 0  # rolled back
            with lake.transaction() as con:  # and a new transaction can start
                con.execute("INSERT INTO scratch VALUES (2)")
            assert second.execute("SELECT x FROM scratch").fetchall() == [(2,)]
    with pytest.raises(duckdb.ConnectionException):
        first.execute("SELECT 1")


def test_outside_a_run_each_connect_opens_its_own(tmp_path):
    lake = LakeResource(warehouse_dir=str(tmp_path))
    with lake.connect() as one:
        pass
    with lake.connect() as two:
        assert two is not one
        assert two.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
