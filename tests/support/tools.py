"""Command-line tools the tests run from venvs of their own (kept apart from the app venv
because they pin their own boto3): where they are, and a clear failure when they are not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def venv_dir(env_var: str, default: str) -> Path:
    """The venv named by ``env_var`` (relative to the repo if not absolute), or ``default``."""
    venv = Path(os.environ.get(env_var, str(REPO / default))).expanduser()
    return venv if venv.is_absolute() else REPO / venv


def venv_tool(env_var: str, default: str, name: str, requirements: str) -> Path:
    """``name`` in that venv; fails the test (no skip: ``make test`` installs it first)."""
    venv = venv_dir(env_var, default)
    tool = venv / "bin" / name
    if not os.access(tool, os.X_OK):
        pytest.fail(
            f"{name} not found at {tool}: the tools venv ({venv}) is missing or incomplete. "
            f"Run `make test`, which installs it from {requirements} "
            f"(or set {env_var} to an existing one).",
            pytrace=False,
        )
    return tool
