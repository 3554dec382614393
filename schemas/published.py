"""The publishing tables: one row per dataset version, and the check results each version carries.

Both live in `lake.main` (append-only). The published copies of the data tables live in
`lake.published` and reuse those tables' own models; see factledger/publish.py.
"""
from __future__ import annotations

import ibis.expr.datatypes as dt
from pandera.ibis import Field

from schemas._base import SHA256_PATTERN, LakeTable, Timestamp


class DatasetVersions(LakeTable):
    """One row per published dataset version. A version becomes current when its row is committed;
    the published tables as of that version are `lake.published.*` at `snapshot_id`."""

    _key = ("version",)
    _inlined = False  # input_hashes holds a line per article

    version: dt.Int64 = Field(ge=1, description="Dataset version number: 1, 2, ... in publishing order.")
    snapshot_id: dt.Int64 = Field(ge=0, description="DuckLake snapshot holding the version's published tables (`AT (VERSION => snapshot_id)`).")
    created_at: Timestamp = Field(description="When the version was published (UTC).")
    run_id: dt.String = Field(nullable=True, description="Dagster run that published it.")
    code_version: dt.String = Field(nullable=True, description="Git commit of the code (suffixed -dirty when the working tree differed); null outside a git checkout.")
    code_sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 over the package's source files, recorded whether or not git is available.")
    fingerprint: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the input hashes and the published tables' content; an unchanged fingerprint publishes no new version.")
    input_hashes: dt.String = Field(description="JSON object: raw input path -> SHA-256 of its bytes (present articles, source folders).")
    table_hashes: dt.String = Field(description="JSON object: published table -> an order-independent hash of its rows (timestamps and run ids left out): `rows-md5-sums:<rows>:<sum of the high halves>:<sum of the low halves>` of the rows' MD5 digests.")
    row_counts: dt.String = Field(description="JSON object: published table -> number of rows.")
    checks_passed: dt.Int64 = Field(ge=0, description="Checks of the publishing run that passed.")
    checks_failed: dt.Int64 = Field(ge=0, description="Checks of the publishing run that failed (warnings only: a failing blocking check prevents publishing).")
    checks_summary: dt.String = Field(description="The checks in words, e.g. '12 passed, 1 warning (articles.no_rejected_inputs)'.")
    changes: dt.String = Field(description="What changed since the previous version, per table, e.g. 'articles: 1 changed'.")

    class Config:
        name = "dataset_versions"


class CheckResults(LakeTable):
    """The result of every asset check of the run that published a version, one row per check."""

    _key = ("version", "asset_key", "check_name")

    version: dt.Int64 = Field(ge=1, description="The dataset version these results belong to.")
    run_id: dt.String = Field(description="Dagster run whose checks these are.")
    asset_key: dt.String = Field(description="Asset the check is attached to.")
    check_name: dt.String = Field(description="Name of the check.")
    passed: dt.Boolean = Field(nullable=True, description="True when it passed; null when it had not been evaluated when the version was published.")
    severity: dt.String = Field(nullable=True, isin=["ERROR", "WARN"], description="ERROR (blocks publishing when blocking) or WARN.")
    blocking: dt.Boolean = Field(nullable=True, description="True when a failure stops downstream assets, publishing included.")
    failure_count: dt.Int64 = Field(nullable=True, ge=0, description="Failing rows the check reported, when it counts rows.")
    rows_checked: dt.Int64 = Field(nullable=True, ge=0, description="Rows the check examined, when it says.")
    description: dt.String = Field(nullable=True, description="The check's own summary of a failure.")
    evaluated_at: Timestamp = Field(nullable=True, description="When the check was evaluated (UTC).")

    class Config:
        name = "check_results"


class CheckMemo(LakeTable):
    """Bookkeeping: for each check, the inputs it last passed on (a hash of its SQL and of the last
    lake snapshot that changed each table it reads). A check whose inputs are unchanged since it
    passed is not evaluated again; the run says it skipped it (factledger/checkmemo.py)."""

    _key = ("check_key",)

    check_key: dt.String = Field(description="asset.check_name.")
    inputs: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the check's SQL and its input tables' last-changed snapshots.")
    rows_checked: dt.Int64 = Field(nullable=True, ge=0, description="Rows it examined when it passed.")
    run_id: dt.String = Field(nullable=True, description="The run that evaluated it.")
    passed_at: Timestamp = Field(description="When (UTC).")

    class Config:
        name = "check_memo"


class CheckMemoInputs(LakeTable):
    """Bookkeeping: for each check's last pass, the snapshot each table it reads was at. A check
    whose rules read one row at a time is evaluated again only on the rows of the tables that
    changed since (their change feed), narrowed by the model's `_narrow_by` column
    (factledger/checkmemo.py, factledger/validation.py)."""

    _key = ("check_key", "input_table")

    check_key: dt.String = Field(description="asset.check_name.")
    input_table: dt.String = Field(description="A lake table the check reads.")
    snapshot_id: dt.Int64 = Field(ge=0, description="The last snapshot that had changed that table when the check passed.")
    sql_sha256: dt.String = Field(str_matches=SHA256_PATTERN, description="SHA-256 of the check's SQL then (another SQL: evaluated whole).")

    class Config:
        name = "check_memo_inputs"
