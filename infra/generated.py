"""The command line the generators share: write a generated file, or check that it is current.

A generator (``infra/api_definition.py``, ``infra/openapi_document.py``,
``infra/statemachines/migration_asl.py``) says how the file's text follows from what it has
now; ``--write`` writes that (only when it differs), ``--check`` exits 1 naming the file and
the command that mends it. The tests call each generator's ``main`` the same way.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def main(
    render: Callable[[str], str],
    target: Path,
    argv: Sequence[str] | None = None,
    *,
    what: str,
    fix: str,
    option: str | None = None,
    write_by_default: bool = False,
) -> int:
    """Run a generator: ``render`` turns the target's current text ("" when there is none)
    into what it should be. ``option`` (``"--document"``, say) lets the command aim at another
    file; without ``write_by_default`` one of ``--write`` and ``--check`` is required.
    """
    parser = argparse.ArgumentParser(description=f"Write or check {what}.")
    mode = parser.add_mutually_exclusive_group(required=not write_by_default)
    mode.add_argument("--write", action="store_true", help=f"rewrite {what}")
    mode.add_argument("--check", action="store_true", help=f"exit 1 if {what} is stale")
    if option is not None:
        parser.add_argument(
            option, dest="target", type=Path, default=target, metavar=option.lstrip("-").upper()
        )
    args = parser.parse_args(argv)
    path: Path = args.target if option is not None else target
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = render(old)
    if args.check:
        if old != new:
            print(f"{path}: {what} is stale: run `{fix}`", file=sys.stderr)
            return 1
        return 0
    if old != new:
        path.write_text(new, encoding="utf-8")
    return 0
