"""The one check-result shape, asserted the same way for every check (see assets/_checks.py)."""
from __future__ import annotations

from assets._checks import METADATA_KEYS, outcome_of
from factledger.validation import CheckOutcome


def outcome(evaluation) -> CheckOutcome:
    """The evaluation's outcome, after asserting it has the shape every check has."""
    assert set(METADATA_KEYS) <= set(evaluation.metadata), (evaluation.check_name, sorted(evaluation.metadata))
    found = outcome_of(evaluation)
    assert found is not None, evaluation.check_name
    assert evaluation.passed == found.passed, evaluation.check_name
    assert len(found.rows) == min(found.failure_count, len(found.rows)) and (found.rows or found.passed)
    return found


def failing_rows(evaluation) -> list[dict]:
    """The rows the check lists, as records keyed by their real column names."""
    return outcome(evaluation).records()
