"""Publishing tests share one warehouse per module: each pipeline run costs ~10 s."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from factledger import cli, paths
from factledger.paths import PROJECT_ROOT

CHANGED_ARTICLE = "004_0a24993dc5b7d625"


@dataclass
class Cli:
    rc: int
    out: str
    err: str


def factledger(*argv: str, warehouse_env: str = "") -> Cli:
    """`factledger ARGV` in-process, with its environment changes undone afterwards."""
    out, err = io.StringIO(), io.StringIO()
    env = {paths.RAW_ENV: "", paths.WAREHOUSE_ENV: warehouse_env}
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        os.environ.pop("DAGSTER_HOME", None)
        rc = cli.main([str(a) for a in argv])
    return Cli(rc, out.getvalue(), err.getvalue())


def copy_raw(target: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "raw", target)
    return target


def change_article(raw: Path, article_id: str = CHANGED_ARTICLE) -> None:
    """Edit one article's headline (front matter): same body, new bytes."""
    path = raw / "articles" / f"{article_id}.md"
    text = path.read_text()
    assert "\ntitle: " in text
    path.write_text(text.replace("\ntitle: ", "\ntitle: (updated) ", 1))


def joined(folder: Path) -> bytes:
    """The CSV parts of an export folder read in order as one file: each part's header line but
    the first left out (what frictionless and DuckDB's read_csv of the folder read)."""
    from factledger import splice

    parts = [p.read_bytes() for p in splice.part_paths(folder)]
    header = len(parts[0].split(b"\n", 1)[0]) + 1
    return parts[0] + b"".join(p[header:] for p in parts[1:])
