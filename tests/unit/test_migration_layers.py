"""The migration's two sides import what they share from below, never from each other: the
API side (``usecases/migration.py``) and the worker side (the runner and its step modules)
both use ``migration_shared`` and ``mailport.workflow``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

USECASES = Path(__file__).resolve().parents[2] / "layers" / "core" / "mailport" / "usecases"
API_SIDE = {"mailport.usecases.migration", "mailport.usecases.migration_queue"}
WORKER_SIDE = {
    "mailport.usecases.migration_runner",
    "mailport.usecases.migration_context",
    "mailport.usecases.migration_plan",
    "mailport.usecases.migration_copy",
    "mailport.usecases.migration_chunk",
    "mailport.usecases.migration_rollback",
}
SHARED = {
    "mailport.usecases.migration_shared",
    "mailport.usecases.migration_report",
    "mailport.workflow",
}


def _imports(module: str, root: Path = USECASES) -> set[str]:
    path = root / f"{module.rsplit('.', 1)[-1]}.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", sorted(WORKER_SIDE))
def test_the_worker_side_does_not_import_the_api_side(module: str) -> None:
    assert not _imports(module) & API_SIDE


@pytest.mark.parametrize("module", sorted(API_SIDE))
def test_the_api_side_does_not_import_the_worker_side(module: str) -> None:
    assert not _imports(module) & WORKER_SIDE


@pytest.mark.parametrize("module", sorted(SHARED - {"mailport.workflow"}))
def test_the_shared_module_imports_neither_side(module: str) -> None:
    assert not _imports(module) & (API_SIDE | WORKER_SIDE)


def test_every_migration_module_is_placed() -> None:
    """A new module of the migration must say which side it is on (add it above)."""
    found = {f"mailport.usecases.{p.stem}" for p in USECASES.glob("migration*.py")}
    assert found == API_SIDE | WORKER_SIDE | (SHARED - {"mailport.workflow"})


def test_the_check_sees_a_sideways_import(tmp_path: Path) -> None:
    (tmp_path / "migration_runner.py").write_text(
        "from mailport.usecases.migration import secret_context\n", encoding="utf-8"
    )
    assert _imports("mailport.usecases.migration_runner", tmp_path) & API_SIDE
