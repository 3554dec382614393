"""Fixtures of the orchestration tests: a private, writable copy of the checkout's raw/."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factledger.paths import PROJECT_ROOT


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    target = tmp_path / "raw"
    shutil.copytree(PROJECT_ROOT / "raw", target)
    return target
