"""template.yaml through an infrastructure-as-code security scanner: checkov, pinned in
``requirements/scan.txt`` and installed by ``make test`` into a venv of its own
(``MAILPORT_SCAN_VENV``, default ``<repo>/.venv-scan``: checkov pins its own boto3).

Every finding must be explained in ``infra/security/accepted_findings.yaml``, and every
entry there must still match a finding, so a changed template is scanned as it stands and
the file of reasons never outlives them. A missing scanner is a failure, not a skip.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.tools import venv_tool

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
ACCEPTED = REPO / "infra" / "security" / "accepted_findings.yaml"


def _checkov() -> Path:
    return venv_tool("MAILPORT_SCAN_VENV", ".venv-scan", "checkov", "requirements/scan.txt")


def scan(template: Path, tmp_path: Path) -> list[tuple[str, str]]:
    """(check id, resource) of every failed check; checkov offline, in a throw-away HOME."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BC_SKIP_MAPPING": "TRUE",  # no download of the platform's guideline mapping
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "ERROR",
    }
    done = subprocess.run(
        [
            str(_checkov()),
            "-f",
            str(template),
            "--framework",
            "cloudformation",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--skip-download",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Exit code 1 means "findings"; anything else, or no JSON, is the scanner failing.
    if done.returncode not in (0, 1) or not done.stdout.strip().startswith(("{", "[")):
        pytest.fail(f"checkov failed ({done.returncode}): {done.stderr[-2000:]}", pytrace=False)
    report: Any = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    if not any(r.get("summary", {}).get("resource_count") for r in reports):
        pytest.fail("checkov scanned no resources: did it read the template?", pytrace=False)
    return sorted(
        (f["check_id"], f["resource"])
        for r in reports
        for f in r.get("results", {}).get("failed_checks", [])
    )


def accepted() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load(ACCEPTED.read_text(encoding="utf-8"))
    return entries


def unexplained(
    findings: list[tuple[str, str]], entries: list[dict[str, Any]]
) -> tuple[list[tuple[str, str]], list[str]]:
    """The findings no entry explains, and the entries that explain no finding."""
    used: set[int] = set()
    left = []
    for check, resource in findings:
        match = next(
            (
                i
                for i, e in enumerate(entries)
                if e["check"] == check and (e["resources"] == "*" or resource in e["resources"])
            ),
            None,
        )
        if match is None:
            left.append((check, resource))
        else:
            used.add(match)
    stale = [e["check"] for i, e in enumerate(entries) if i not in used]
    stale += [
        f"{e['check']} {r}"
        for e in entries
        if e["resources"] != "*"
        for r in e["resources"]
        if (e["check"], r) not in findings
    ]
    return left, stale


def test_every_entry_gives_a_reason() -> None:
    for entry in accepted():
        assert set(entry) == {"check", "resources", "reason"}, entry
        assert entry["resources"] == "*" or (
            isinstance(entry["resources"], list) and entry["resources"]
        ), entry
        assert len(entry["reason"].split()) >= 15, f"{entry['check']}: say why"


def test_the_template_has_no_unexplained_finding(tmp_path: Path) -> None:
    findings = scan(TEMPLATE, tmp_path)
    left, stale = unexplained(findings, accepted())
    assert not left, (
        "checkov findings not explained in infra/security/accepted_findings.yaml "
        f"(fix the template, or explain them there): {left}"
    )
    assert not stale, f"entries that match no finding any more (remove them): {stale}"


def test_a_new_weakness_is_a_finding(tmp_path: Path) -> None:
    """The scan sees what is changed: a bucket that lets the public in fails the run."""
    weak = tmp_path / "weak.yaml"
    weak.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Resources:\n"
        "  Open:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      PublicAccessBlockConfiguration:\n"
        "        BlockPublicAcls: false\n"
        "        BlockPublicPolicy: false\n"
        "        IgnorePublicAcls: false\n"
        "        RestrictPublicBuckets: false\n",
        encoding="utf-8",
    )
    findings = scan(weak, tmp_path)
    left, _ = unexplained(findings, accepted())
    assert ("CKV_AWS_53", "AWS::S3::Bucket.Open") in left  # public ACLs not blocked
