"""The run's check results as a version records them: `checks_passed` / `checks_failed` /
`checks_summary` of `dataset_versions`. (Kept apart: the shape of check records may change
without touching publishing.)"""
from __future__ import annotations


def checks_summary(checks: list[dict]) -> tuple[int, int, str]:
    """(passed, failed, in words); a failed WARN check is named a warning (it never blocks)."""
    passed = [c for c in checks if c["passed"]]
    failed = [c for c in checks if c["passed"] is False]
    pending = [c for c in checks if c["passed"] is None]
    words = [f"{len(passed)} passed"]
    blocking = [c for c in failed if c.get("severity") != "WARN"]
    warnings = [c for c in failed if c.get("severity") == "WARN"]
    if blocking:
        words.append(f"{len(blocking)} failed ({_check_names(blocking)})")
    if warnings:
        words.append(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''} ({_check_names(warnings)})")
    if pending:
        words.append(f"{len(pending)} not evaluated before publishing")
    return len(passed), len(failed), ", ".join(words)


def _check_names(checks: list[dict]) -> str:
    return ", ".join(f"{c['asset_key']}.{c['check_name']}" for c in checks)
