"""The ``mailport`` command: ``mailport upload --folder Inbox ~/export/*.eml``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .api import CliError
from .upload import DEFAULT_API, command

EPILOG = (
    "exit status: 0 when every file went in (stored or already there), 1 when some were "
    "rejected or still pending at the timeout, 2 for usage, sign-in or network errors."
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _upload_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "upload",
        help="upload .eml files into a folder",
        description="Upload .eml files into a folder, wait for the import and report on each.",
        epilog=EPILOG,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help=".eml files or directories of them")
    p.add_argument("--api", help=f"API address (default: $MAILPORT_API, else {DEFAULT_API})")
    p.add_argument("--token", help="bearer token (default: $MAILPORT_TOKEN)")
    p.add_argument("--folder", default="Inbox", help="folder id or name (default: Inbox)")
    p.add_argument("--apply-rules", action="store_true", help="sort with the auto-sort rules")
    p.add_argument("--recursive", "-r", action="store_true", help="look into subdirectories")
    p.add_argument("--concurrency", type=_positive_int, default=4, metavar="N")
    p.add_argument("--timeout", type=_seconds, default=300.0, metavar="SECONDS")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print the batches as JSON")
    p.set_defaults(run=command)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="mailport", description="mailport's client.")
    parser.add_argument("--version", action="version", version=f"mailport {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _upload_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors
        return e.code if isinstance(e.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    try:
        code: int = args.run(args)
    except CliError as e:
        print(f"mailport: {e.message}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("mailport: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
