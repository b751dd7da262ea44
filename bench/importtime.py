"""Benchmark: the cold import time of each Lambda handler module, against ``import boto3``.

    .venv/bin/python -m bench.importtime [--repeats 9]

Each handler module (functions/*/) and ``boto3`` alone is imported by ``python -X importtime``
in a fresh process, ``--repeats`` times, interleaved (so a busy moment hits every module
alike); the figure is the median of the module's cumulative import time (its own line in the
importtime output). The processes get a Lambda-like environment (function name, region,
Powertools settings), because Powertools' Tracer patches libraries only inside Lambda.

Two modes:

- ``cached``: every module has its bytecode (``__pycache__``) already, as on a developer's
  machine. This is the figure the target (≤ 1.5x ``import boto3``) is judged on.
- ``deployed``: only the standard library has bytecode; every other module (boto3 included,
  for the baseline too) is compiled from source at import. ``sam build`` ships no ``.pyc``
  files and Lambda's code directories are read-only, so this is what a cold start pays.

For a handler over the target, the result names what costs most: the handler's direct
imports by cumulative time, and the packages by their own (self) time, from the median run.
Figures are printed and written to bench/results/importtime.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import ROOT, run_head, write_result

TARGET = 1.5
BASELINE = "boto3"
# Function folder -> handler module (template.yaml's Handler is "<module>.handler").
HANDLERS = {
    "api": "mailport_api",
    "eml_ingest": "eml_ingest",
    "pop_dispatch": "pop_dispatch",
    "pop_fetch": "pop_fetch",
    "migration_worker": "migration_worker",
    "migration_scheduler": "migration_scheduler",
}
# What Lambda sets that changes what gets imported or done at import: Powertools' Tracer
# patches libraries only in Lambda, and the X-Ray SDK uses its local sampler (no botocore
# client for the X-Ray API) when LAMBDA_TASK_ROOT is set.
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "mailport-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_METRICS_NAMESPACE": "Mailport",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
}


@dataclass(frozen=True)
class Row:
    """One line of ``-X importtime`` output."""

    self_us: int
    cumulative_us: int
    depth: int
    name: str


def parse(stderr: str) -> list[Row]:
    """The rows of ``python -X importtime`` output (its header and other lines skipped)."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        # Nested imports are indented two spaces a level after the bar's one space.
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append(Row(int(self_us), int(cumulative_us), depth, name.strip()))
    return rows


def module_us(rows: list[Row], module: str) -> int:
    """The cumulative import time of ``module``'s own top-level import."""
    for row in rows:
        if row.depth == 0 and row.name == module:
            return row.cumulative_us
    raise ValueError(f"{module} is not a top-level import of this run")


def costliest(rows: list[Row], module: str, top: int = 8) -> dict[str, Any]:
    """What ``module``'s import spends its time on: its direct imports by cumulative time, and
    every package (top-level name) by self time, in milliseconds.
    """
    end = next(i for i, r in enumerate(rows) if r.depth == 0 and r.name == module)
    start = end
    while start > 0 and rows[start - 1].depth > 0:
        start -= 1
    inside = rows[start:end]
    direct = sorted((r for r in inside if r.depth == 1), key=lambda r: -r.cumulative_us)
    packages: Counter[str] = Counter()
    for r in inside:
        packages[r.name.split(".")[0]] += r.self_us
    return {
        "direct_imports_ms": {r.name: round(r.cumulative_us / 1000, 1) for r in direct[:top]},
        "packages_self_ms": {n: round(us / 1000, 1) for n, us in packages.most_common(top)},
    }


def child_env(folder: str | None, pycache: Path | None) -> dict[str, str]:
    """A fresh process's environment: the function's folder and the layer on the path."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep} | LAMBDA_ENV
    paths = [str(ROOT / "layers" / "core")]
    if folder:
        paths.insert(0, str(ROOT / "functions" / folder))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["LAMBDA_TASK_ROOT"] = paths[0]
    if pycache is not None:
        env |= {"PYTHONPYCACHEPREFIX": str(pycache), "PYTHONDONTWRITEBYTECODE": "1"}
    return env


def import_once(module: str, env: dict[str, str]) -> list[Row]:
    """One fresh ``python -X importtime -c 'import module'``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise RuntimeError(f"import {module} failed: {out.stderr[-2000:]}")
    return parse(out.stderr)


def stdlib_only_cache(targets: dict[str, tuple[str | None, str]]) -> Path:
    """A bytecode cache (``PYTHONPYCACHEPREFIX``) holding the standard library's bytecode
    only: every target is imported once to fill it, then all but the stdlib is removed.
    """
    cache = Path(tempfile.mkdtemp(prefix="bench-pyc-"))
    for folder, module in targets.values():
        env = child_env(folder, None) | {"PYTHONPYCACHEPREFIX": str(cache)}
        import_once(module, env)
    stdlib = cache / Path(sysconfig.get_paths()["stdlib"]).resolve().relative_to("/")
    kept = Path(tempfile.mkdtemp(prefix="bench-pyc-")) / "stdlib"
    shutil.move(stdlib, kept)
    shutil.rmtree(cache)
    stdlib.parent.mkdir(parents=True)
    shutil.move(kept, stdlib)
    kept.parent.rmdir()
    return cache


def measure(
    targets: dict[str, tuple[str | None, str]], repeats: int, pycache: Path | None
) -> dict[str, dict[str, Any]]:
    """Each target imported ``repeats`` times, interleaved; medians and the costliest parts."""
    runs: dict[str, list[tuple[int, list[Row]]]] = {name: [] for name in targets}
    for _ in range(repeats):
        for name, (folder, module) in targets.items():
            rows = import_once(module, child_env(folder, pycache))
            runs[name].append((module_us(rows, module), rows))
    out = {}
    for name, (_, module) in targets.items():
        times = sorted(us for us, _ in runs[name])
        median_run = sorted(runs[name], key=lambda run: run[0])[len(times) // 2]
        out[name] = {
            "module": module,
            "median_ms": round(statistics.median(times) / 1000, 1),
            "min_ms": round(times[0] / 1000, 1),
            "max_ms": round(times[-1] / 1000, 1),
            "runs_ms": [round(us / 1000, 1) for us in times],
            "modules_imported": sum(1 for _ in median_run[1]),
            "costliest": costliest(median_run[1], module),
        }
    return out


def judged(figures: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each handler's median against the baseline's, and whether it meets the target."""
    base = figures[BASELINE]["median_ms"]
    handlers = {}
    for name, fig in figures.items():
        if name == BASELINE:
            continue
        ratio = round(fig["median_ms"] / base, 2)
        handlers[name] = {**fig, "ratio_to_boto3": ratio, "met": ratio <= TARGET}
        if ratio <= TARGET:
            del handlers[name]["costliest"]
    return {"baseline": figures[BASELINE], "handlers": handlers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--deployed-repeats", type=int, default=5)
    args = parser.parse_args()
    targets: dict[str, tuple[str | None, str]] = {BASELINE: (None, BASELINE)}
    targets |= {folder: (folder, module) for folder, module in HANDLERS.items()}
    for folder, module in targets.values():  # bytecode written once, before the clock
        import_once(module, child_env(folder, None))
    cached = judged(measure(targets, args.repeats, None))
    cache = stdlib_only_cache(targets)
    try:
        deployed = judged(measure(targets, args.deployed_repeats, cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    result = {
        **run_head("importtime"),
        "target": f"<= {TARGET}x import boto3 (cached bytecode)",
        "repeats": {"cached": args.repeats, "deployed": args.deployed_repeats},
        "cached": cached,
        "deployed": deployed,
    }
    write_result("importtime", result)
    print_table(result)


def print_table(result: dict[str, Any]) -> None:
    """The printed summary: per handler, both modes, against ``import boto3``."""
    cached, deployed = result["cached"], result["deployed"]
    print("import time, median ms (x import boto3); deployed = no bytecode outside the stdlib")
    print(
        f"  {'boto3':22s} {cached['baseline']['median_ms']:8.1f}         "
        f"{deployed['baseline']['median_ms']:8.1f}"
    )
    for name, fig in cached["handlers"].items():
        dep = deployed["handlers"][name]
        mark = "met" if fig["met"] else "NOT met"
        print(
            f"  {fig['module']:22s} {fig['median_ms']:8.1f} ({fig['ratio_to_boto3']:4.2f}x) "
            f"{dep['median_ms']:8.1f} ({dep['ratio_to_boto3']:4.2f}x)  target {mark}"
        )
        if not fig["met"]:
            costly = fig["costliest"]["direct_imports_ms"]
            print("      costliest imports: " + ", ".join(f"{k} {v}" for k, v in costly.items()))


if __name__ == "__main__":
    main()
