"""claims.csv is rewritten only when the claims or articles it is made of changed, or when it is
missing; an unchanged run leaves the file as it was."""
import shutil

from factledger import lake
from factledger.claims import store
from factledger.paths import PROJECT_ROOT
from tests.conftest import build_lake


def test_the_export_is_rewritten_only_when_its_tables_change(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", raw)
    warehouse = tmp_path / "wh"
    path = build_lake(raw, warehouse)
    written = path.stat().st_mtime_ns
    with lake.connect(warehouse) as con:
        assert store.export_is_current(con, path)
        assert store.export_claims(con, warehouse).stat().st_mtime_ns == written  # left alone
        rows = path.read_text().count("\n")
        con.execute("DELETE FROM claims WHERE claim_id = (SELECT min(claim_id) FROM claims)")
        assert not store.export_is_current(con, path)
        store.export_claims(con, warehouse)
        assert path.read_text().count("\n") == rows - 1
        # Spliced from the previous file (its state file says from which snapshots): byte for byte
        # the whole COPY.
        whole = tmp_path / "whole.csv"
        con.execute(store.export_query().whole_sql().format(path=f"'{whole}'"))
        assert path.read_bytes() == whole.read_bytes()
        path.unlink()
        assert not store.export_is_current(con, path)
        assert store.export_claims(con, warehouse).exists()
