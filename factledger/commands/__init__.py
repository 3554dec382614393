"""Subcommands of the `factledger` CLI: each module has `register(subparsers)`."""
import argparse

from factledger import paths


def add_warehouse_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        metavar="DIR",
        help=f"warehouse folder (default: ${paths.WAREHOUSE_ENV}, else the checkout's warehouse/)",
    )
