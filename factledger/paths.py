"""Where factledger reads its inputs and writes its warehouse.

Flags win over environment variables, which win over the checkout's own folders, so the CLI, the
Dagster UI, schedules and tests can all point the same code elsewhere.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RAW_ENV = "FACTLEDGER_RAW"
WAREHOUSE_ENV = "FACTLEDGER_WAREHOUSE"


def raw_dir(override: str | os.PathLike | None = None) -> Path:
    return _resolve(override, RAW_ENV, PROJECT_ROOT / "raw")


def warehouse_dir(override: str | os.PathLike | None = None) -> Path:
    return _resolve(override, WAREHOUSE_ENV, PROJECT_ROOT / "warehouse")


def _resolve(override, env_name: str, default: Path) -> Path:
    chosen = override or os.environ.get(env_name) or default
    return Path(chosen).expanduser().resolve()
