"""Offline checks of the deployable definitions: template.yaml and the Step Functions ASL.

- ``cfn-lint template.yaml`` and ``sam validate --lint`` run from the SAM tools venv
  (``requirements/sam.txt``; path from ``MAILPORT_SAM_VENV``, default ``<repo>/.venv-sam``),
  which is kept apart from the app venv because aws-sam-cli pins its own boto3 and click.
- ``asl-validator`` (npm, pinned in ``infra/package.json``) checks every
  ``infra/statemachines/*.asl.json``; a negative test proves it rejects a ``Next`` that names
  a missing state, which moto's Step Functions engine accepts without complaint.

Every command runs with a minimal environment: dummy credentials, region us-east-1, SAM
telemetry off and a throw-away HOME, so nothing needs the network or a real AWS account.
A missing tool is a failure, not a skip: ``make test`` always installs the tools first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.tools import venv_dir, venv_tool

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
STATEMACHINES_DIR = REPO / "infra" / "statemachines"
MIGRATION_ASL = STATEMACHINES_DIR / "migration.asl.json"
NODE_MODULES = REPO / "infra" / "node_modules"
ASL_VALIDATOR = NODE_MODULES / ".bin" / "asl-validator"
ASL_FILES = sorted(STATEMACHINES_DIR.glob("*.asl.json"))

COMMAND_TIMEOUT_S = 300
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


def _sam_venv() -> Path:
    return venv_dir("MAILPORT_SAM_VENV", ".venv-sam")


def _sam_venv_tool(name: str) -> Path:
    """Path of ``name`` in the SAM tools venv; fails the test when it is not installed."""
    return venv_tool("MAILPORT_SAM_VENV", ".venv-sam", name, "requirements/sam.txt")


def _asl_validator() -> Path:
    """The asl-validator CLI from infra/node_modules; fails the test when it is not installed."""
    if not os.access(ASL_VALIDATOR, os.X_OK):
        pytest.fail(
            f"asl-validator not found at {ASL_VALIDATOR}: infra/node_modules is missing. "
            "Run `make test`, which installs it with `npm ci --prefix infra`.",
            pytrace=False,
        )
    return ASL_VALIDATOR


def _node_dir() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not on PATH; asl-validator needs Node.js >= 20.16 (see infra/package.json).",
            pytrace=False,
        )
    return str(Path(node).parent)


def _minimal_env(home: Path, *extra_path: str) -> dict[str, str]:
    """An environment with nothing from the caller's but PATH entries we choose."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.pathsep.join([*extra_path, BASE_PATH]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # dummy: never used against AWS
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
    }


def _run(cmd: list[str | Path], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in cmd],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def _describe(result: subprocess.CompletedProcess[str]) -> str:
    cmd = " ".join(str(part) for part in result.args)
    return (
        f"`{cmd}` exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def _sam_env(tmp_path: Path) -> dict[str, str]:
    return _minimal_env(tmp_path / "home", str(_sam_venv() / "bin"))


def _asl_env(tmp_path: Path) -> dict[str, str]:
    return _minimal_env(tmp_path / "home", _node_dir())


def test_cfn_lint_passes_on_template(tmp_path: Path) -> None:
    cfn_lint = _sam_venv_tool("cfn-lint")
    result = _run([cfn_lint, TEMPLATE.name], _sam_env(tmp_path))
    assert result.returncode == 0, _describe(result)


def test_sam_validate_lint_passes_on_template(tmp_path: Path) -> None:
    sam = _sam_venv_tool("sam")
    result = _run([sam, "validate", "--lint", "--template", TEMPLATE], _sam_env(tmp_path))
    assert result.returncode == 0, _describe(result)
    assert "is a valid SAM Template" in result.stdout, _describe(result)


def test_statemachine_definitions_exist() -> None:
    assert ASL_FILES, f"no *.asl.json under {STATEMACHINES_DIR}"
    assert MIGRATION_ASL in ASL_FILES


@pytest.mark.parametrize("definition", ASL_FILES, ids=[p.name for p in ASL_FILES])
def test_asl_definition_is_valid(definition: Path, tmp_path: Path) -> None:
    validator = _asl_validator()
    result = _run([validator, "--json-path", definition], _asl_env(tmp_path))
    assert result.returncode == 0, _describe(result)
    assert "is valid" in result.stdout, _describe(result)


def test_asl_validator_rejects_missing_transition_target(tmp_path: Path) -> None:
    validator = _asl_validator()
    definition = json.loads(MIGRATION_ASL.read_text(encoding="utf-8"))
    states: dict[str, dict[str, object]] = definition["States"]
    source = next((name for name, state in states.items() if "Next" in state), None)
    assert source is not None, f"no top-level state with a Next in {MIGRATION_ASL.name}"
    missing = "NoSuchStateForTheValidatorTest"
    assert missing not in states
    states[source]["Next"] = missing
    broken = tmp_path / "migration-missing-next.asl.json"
    broken.write_text(json.dumps(definition, indent=2), encoding="utf-8")

    result = _run([validator, "--json-path", broken], _asl_env(tmp_path))

    assert result.returncode != 0, _describe(result)
    output = result.stdout + result.stderr
    assert "MISSING_TRANSITION_TARGET" in output, _describe(result)
    assert missing in output, _describe(result)
