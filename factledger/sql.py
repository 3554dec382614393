"""SQL quoting, defined once: every identifier and every literal the code builds into a statement
goes through these two functions (paths in ATTACH and COPY TO, table and column names)."""
from __future__ import annotations

import os


def identifier(name: str) -> str:
    """A quoted identifier: `end` -> "end", `a"b` -> "a""b"."""
    return '"' + str(name).replace('"', '""') + '"'


def identifiers(names) -> str:
    """A comma-separated list of quoted identifiers (a column list, an ORDER BY of a key)."""
    return ", ".join(identifier(n) for n in names)


def literal(value: str | os.PathLike) -> str:
    """A quoted string literal: a path with a quote in it (`/tmp/o'brien/x.csv`) stays one literal."""
    return "'" + os.fspath(value).replace("'", "''") + "'" if isinstance(value, os.PathLike) else "'" + str(value).replace("'", "''") + "'"
