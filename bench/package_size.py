"""Benchmark: the deployment package of each function and of the core layer, after ``sam build``.

    .venv/bin/python -m bench.package_size [--build-dir DIR]

Runs ``sam build`` (the SAM CLI in .venv-sam, no container; it needs a python3.12 on PATH,
taken from the interpreter this venv was made from) into a fresh directory, then measures
every artifact: unzipped bytes, zipped bytes (deflate, as ``sam package`` uploads them), file
count, ``.py`` and ``.pyc`` files (Lambda's code directories are read-only, so modules
without bytecode are compiled at every cold start), and the biggest top-level packages.
Packages that the Lambda Python runtime already provides (boto3, botocore and their
dependencies) and packages shipped both in a function and in the layer are named.

Figures are printed and written to bench/results/package_size.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.harness import ROOT, package_version, run_head, write_result

SAM = ROOT / ".venv-sam" / "bin" / "sam"
# Lambda's quotas: a function and all its layers, unzipped; a zip uploaded directly.
UNZIPPED_LIMIT = 250 * 1024 * 1024
ZIPPED_DIRECT_LIMIT = 50 * 1024 * 1024
# What the python3.12 runtime itself carries (boto3 and what boto3 needs).
IN_RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"}
LAYER = "CoreLayer"


def sam_build(build_dir: Path) -> dict[str, Any]:
    """``sam build`` into ``build_dir``: whether it worked, how long it took, why not."""
    if not SAM.exists():
        return {"ok": False, "reason": f"{SAM} is missing (make deps installs it)"}
    # SAM looks for the runtime's interpreter (python3.12) on PATH; a pyenv shim won't do.
    python_bin = Path(sys.base_prefix) / "bin"
    env = {**os.environ, "PATH": f"{python_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)
    started = time.perf_counter()
    out = subprocess.run(
        [str(SAM), "build", "--build-dir", str(build_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode == 0:
        # As ``make build`` does: ship bytecode (Lambda's code directory is read-only).
        out = subprocess.run(
            [
                *(sys.executable, "-m", "compileall", "-q", "-j", "0"),
                *("--invalidation-mode", "unchecked-hash", str(build_dir)),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    seconds = round(time.perf_counter() - started, 1)
    if out.returncode != 0:
        tail = [line for line in (out.stdout + out.stderr).splitlines() if "is ignored" not in line]
        return {"ok": False, "seconds": seconds, "reason": "\n".join(tail[-15:])}
    return {"ok": True, "seconds": seconds}


def top_level(path: Path, base: Path) -> str:
    """The package a file belongs to: its first path part under ``base`` (a dist-info folder
    counts towards its distribution's name, a module file towards its name).
    """
    first = path.relative_to(base).parts[0]
    if first.endswith((".dist-info", ".data")):
        return first.split("-")[0].lower().replace("_", "-") + " (metadata)"
    if first.endswith(".py") or ".cpython-" in first:
        return first.split(".")[0]
    return first


def zipped_size(directory: Path) -> int:
    """The size of ``directory`` zipped with deflate (files only, sorted, as sam does)."""
    with tempfile.NamedTemporaryFile(suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp.name, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(p for p in directory.rglob("*") if p.is_file()):
                zf.write(f, f.relative_to(directory))
        return Path(tmp.name).stat().st_size


def artifact(directory: Path, *, layer: bool, top: int = 10) -> dict[str, Any]:
    """One built function or layer: sizes, counts and its biggest packages."""
    base = directory / "python" if layer else directory
    files = [p for p in directory.rglob("*") if p.is_file()]
    sizes: Counter[str] = Counter()
    for f in files:
        if base in f.parents:
            sizes[top_level(f, base)] += f.stat().st_size
    # Packages and modules, not the metadata or loose files (requirements.txt, a .pth).
    packages = {n for n in sizes if not n.endswith("(metadata)") and "." not in n}
    return {
        "unzipped_bytes": sum(f.stat().st_size for f in files),
        "zipped_bytes": zipped_size(directory),
        "files": len(files),
        "py_files": sum(1 for f in files if f.suffix == ".py"),
        "pyc_files": sum(1 for f in files if f.suffix == ".pyc"),
        "biggest": {name: size for name, size in sizes.most_common(top)},
        "packages": sorted(packages),
        "also_in_lambda_runtime": sorted(packages & IN_RUNTIME),
    }


def measure(build_dir: Path) -> dict[str, Any]:
    """Every artifact of a build, and each function's total with the layer."""
    layer = artifact(build_dir / LAYER, layer=True)
    functions = {}
    for d in sorted(p for p in build_dir.iterdir() if p.is_dir() and p.name != LAYER):
        fn = artifact(d, layer=False)
        fn["also_in_layer"] = sorted(set(fn["packages"]) & set(layer["packages"]))
        total = fn["unzipped_bytes"] + layer["unzipped_bytes"]
        fn["with_layer_unzipped_bytes"] = total
        fn["within_unzipped_limit"] = total <= UNZIPPED_LIMIT
        functions[d.name] = fn
    return {"layer": {LAYER: layer}, "functions": functions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", type=Path, help="keep the build here (default: temp)")
    args = parser.parse_args()
    build_dir = args.build_dir or Path(tempfile.mkdtemp(prefix="bench-sam-"))
    try:
        build = sam_build(build_dir)
        result: dict[str, Any] = {
            **run_head("package_size", aws_sam_cli=sam_version()),
            "limits": {"unzipped_bytes": UNZIPPED_LIMIT, "zipped_direct": ZIPPED_DIRECT_LIMIT},
            "build": build,
        }
        if build["ok"]:
            result |= measure(build_dir)
    finally:
        if args.build_dir is None:
            shutil.rmtree(build_dir, ignore_errors=True)
    write_result("package_size", result)
    print_table(result)


def sam_version() -> str | None:
    """The SAM CLI's version (from its own venv's metadata)."""
    site = list((ROOT / ".venv-sam" / "lib").glob("python*/site-packages/aws_sam_cli-*.dist-info"))
    return (
        site[0].name.removesuffix(".dist-info").split("-")[1]
        if site
        else package_version("aws-sam-cli")
    )


def print_table(result: dict[str, Any]) -> None:
    """The printed summary: one line per artifact."""
    if not result["build"]["ok"]:
        print(f"package size: sam build failed:\n{result['build']['reason']}")
        return
    mb = 1024 * 1024
    print(f"package size after sam build ({result['build']['seconds']} s)")
    rows = {**result["layer"], **result["functions"]}
    for name, a in rows.items():
        biggest = ", ".join(f"{k} {v / mb:.1f}" for k, v in list(a["biggest"].items())[:4])
        unzipped, zipped = a["unzipped_bytes"] / mb, a["zipped_bytes"] / mb
        print(
            f"  {name:28s} {unzipped:6.1f} MB unzipped {zipped:6.1f} MB zipped "
            f"{a['files']:5d} files ({a['pyc_files']} .pyc)  {biggest}"
        )


if __name__ == "__main__":
    main()
