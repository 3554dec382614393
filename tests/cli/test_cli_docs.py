"""Docs that cannot drift (the sqlite-utils pattern): every `factledger` subcommand, and each of
its options, has help text and is documented in the README or docs/."""
import argparse
import re
import subprocess
import sys

import pytest

from factledger.cli import build_parser
from factledger.paths import PROJECT_ROOT

DOCS = "\n".join(p.read_text(encoding="utf-8") for p in [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))])


def subcommands(parser: argparse.ArgumentParser, prefix: str = "factledger") -> list[tuple[str, argparse.ArgumentParser, str | None]]:
    """(command line, parser, help) for every subcommand, nested ones included."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                out.append((f"{prefix} {name}", sub, helps.get(name)))
                out += subcommands(sub, f"{prefix} {name}")
    return out


COMMANDS = subcommands(build_parser())


def test_there_are_subcommands_to_check():
    names = {c for c, _, _ in COMMANDS}
    assert {"factledger run", "factledger sql", "factledger versions", "factledger diff", "factledger report"} <= names


@pytest.mark.parametrize("command,parser,help_text", COMMANDS, ids=[c for c, _, _ in COMMANDS])
def test_every_subcommand_has_help_and_is_documented(command, parser, help_text):
    assert help_text and help_text.strip(), f"{command} has no help text"
    words = command.split()[1:]
    assert re.search(r"factledger\s+" + r"\s+".join(map(re.escape, words)) + r"\b", DOCS), f"{command} is not in the README or docs/"
    for action in parser._actions:
        if not action.option_strings or action.dest == "help" or action.help == argparse.SUPPRESS:
            continue
        long = max(action.option_strings, key=len)
        assert action.help and action.help.strip(), f"{command} {long} has no help"
        assert long in DOCS, f"{command} {long} is not documented in the README or docs/"


@pytest.mark.slow  # a new process
def test_help_runs_for_the_installed_command():
    done = subprocess.run([sys.executable, "-m", "factledger.cli", "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert done.returncode == 0 and "COMMAND" in done.stdout
