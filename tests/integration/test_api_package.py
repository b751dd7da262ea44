"""The API's deployment package (functions/api/Makefile, run by ``sam build``) holds Chalice
without its CLI's dependencies, and the handler imports from it without them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# What Chalice's own requirements would have brought in (pip show chalice: Requires).
CLI_ONLY = ("click", "inquirer", "pip", "setuptools", "wheel", "yaml", "blessed", "wcwidth")

CHECK = """
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError("not in the package: " + name)
        return None
sys.meta_path.insert(0, Refuse())
sys.path[:0] = [{artifact!r}, {layer!r}]
import chalice, mailport_api
assert chalice.__file__.startswith({artifact!r}), chalice.__file__
# The answers' shapes are typing only at run time: no pydantic on the cold start.
assert "pydantic" not in sys.modules and "api_models" not in sys.modules
# ... nor the reading of a message's libraries (nh3, charset-normalizer).
import mailport.usecases.mailbox
assert "nh3" not in sys.modules and "charset_normalizer" not in sys.modules
# A body is checked with its model (and the layer's pydantic) when a request brings one.
import api_inputs, api_validation
assert api_validation.validate(api_inputs.FolderIn, {{"name": "Work"}}) == {{"name": "Work"}}
print("ok", type(mailport_api.app).__name__)
"""


def test_the_api_package_holds_chalice_without_its_cli(tmp_path: Path) -> None:
    built = subprocess.run(
        ["make", "-C", str(REPO_ROOT / "functions/api"), "build-ApiFunction"],
        env={**os.environ, "ARTIFACTS_DIR": str(tmp_path), "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    top = sorted(p.name for p in tmp_path.iterdir())
    assert top == [
        "api_http.py",
        "api_inputs.py",
        "api_models.py",
        "api_models_import.py",
        "api_models_reading.py",
        "api_routes_accounts.py",
        "api_routes_mailbox.py",
        "api_routes_migrations.py",
        "api_routes_oauth.py",
        "api_routes_site.py",
        "api_validation.py",
        "api_views.py",
        "api_views_reading.py",
        "chalice",
        "chalice-1.34.0.dist-info",
        "console",
        "mailport_api.py",
        "openapi.json",
    ]
    script = CHECK.format(
        blocked=CLI_ONLY, artifact=str(tmp_path), layer=str(REPO_ROOT / "layers/core")
    )
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    imported = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["ok", "Chalice"]
