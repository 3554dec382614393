"""`factledger report [--version N] [--open]`: write (or rewrite) the HTML report of a published
version into warehouse/exports/v<N>/report/ and print where it is."""
from __future__ import annotations

import argparse
import sys
import webbrowser

from factledger import lake, paths, versions
from factledger.commands import add_warehouse_flag
from factledger.report import build


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("report", help="write the HTML report of a published version (exports/v<N>/report/)")
    parser.add_argument("--version", type=int, metavar="N", help="dataset version to report on (default: the current one)")
    parser.add_argument("--open", action="store_true", help="open the report in the default web browser")
    parser.add_argument("--force", action="store_true", help="rewrite it even when nothing it shows has changed")
    add_warehouse_flag(parser)
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace) -> int:
    warehouse = paths.warehouse_dir(args.warehouse)
    with lake.connect(warehouse, read_only=True) as con:
        con.execute("USE memory")
        version = versions.resolve(con, args.version)
        written = build.write_report(con, warehouse, version, force=args.force)
    state = "written" if written.regenerated else "unchanged"
    print(f"report of version {version.version} {state}: {written.pages} pages, {written.bytes / 1e6:.2f} MB, "
          f"{written.seconds:.2f} s", file=sys.stderr)
    print(written.path)
    if args.open:
        webbrowser.open(written.path.as_uri())
    return 0
