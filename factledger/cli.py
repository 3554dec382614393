"""The `factledger` command: run the pipeline, query published versions, compare them."""
from __future__ import annotations

import argparse
import signal
import sys

from factledger.commands import lake as lake_commands
from factledger.commands import query, report, run

COMMANDS = (run, query, report, lake_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="factledger",
        description="Check news articles' numeric claims against official figures; publish a versioned dataset.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None and hasattr(signal, "SIGPIPE"):
        # The Unix way for a command line tool: `factledger sql ... | head` ends quietly when head
        # stops reading, instead of a BrokenPipeError traceback. (Not when called in-process.)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (FileNotFoundError, ValueError) as err:
        print(f"factledger {args.command}: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # in-process callers that closed our stdout
        return 1


if __name__ == "__main__":
    sys.exit(main())
