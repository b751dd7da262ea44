"""`mailport upload` against the local stack: files in, one line per file not stored, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from mailport_cli.__main__ import main
from mailport_local.stack import LocalStack, free_port

pytestmark = pytest.mark.stack

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
MBOX = (
    b"From a@example.com Mon Jan 1 00:00:00 2024\nSubject: 1\n\nx\n\n"
    b"From b@example.com Mon Jan 1 00:00:00 2024\nSubject: 2\n\ny\n"
)


def eml(tag: str) -> bytes:
    unique = f"{tag}-{uuid.uuid4().hex}"
    return (
        f"From: sender@example.jp\r\nTo: someone@acme.example\r\nSubject: {tag}\r\n"
        f"Date: Tue, 02 Jan 2024 09:00:00 +0900\r\nMessage-ID: <{unique}@example.jp>\r\n\r\n"
        f"body {unique}\r\n"
    ).encode()


def user(stack: LocalStack) -> str:
    return stack.token(f"cli-{uuid.uuid4().hex[:8]}@acme.example", "acme")


def write(directory: Path, files: dict[str, bytes]) -> list[str]:
    paths = []
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        paths.append(str(path))
    return paths


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `mailport upload` in this process: the exit code, its stdout and its stderr lines.

    The stack's functions run in this process too and log to the same streams (JSON lines on
    stdout; on stderr, logging errors about streams of earlier tests), so those are left out.
    """
    code = main(["upload", *args])
    captured = capsys.readouterr()
    out = "".join(
        line for line in captured.out.splitlines(keepends=True) if not line.startswith('{"level"')
    )
    ours = ("mailport:", "uploading", "importing")
    err = "".join(line for line in captured.err.splitlines(keepends=True) if line.startswith(ours))
    return code, out, err


def folders(stack: LocalStack, token: str) -> list[dict[str, object]]:
    r = requests.get(
        f"{stack.api_url}/v1/folders", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    return list(r.json()["folders"])


def test_bad_files_are_named_with_their_reasons(
    local_stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = user(local_stack)
    paths = write(tmp_path, {"good.eml": eml("good"), "photo.png": PNG, "export.mbox": MBOX})
    code, out, err = cli(capsys, "--api", local_stack.api_url, "--token", token, *paths)
    assert code == 1, err
    lines = out.splitlines()
    assert lines[-1] == "stored 1, duplicate 0, rejected 2, pending 0"
    rejected = {line.split(": ")[0]: line for line in lines[:-1]}
    assert set(rejected) == {str(tmp_path / "photo.png"), str(tmp_path / "export.mbox")}
    assert "rejected (binary): " in rejected[str(tmp_path / "photo.png")]
    assert "rejected (mbox): " in rejected[str(tmp_path / "export.mbox")]
    assert all(len(line.split(": ", 2)[2]) > 0 for line in rejected.values())  # a message each
    assert token not in out + err
    # Progress goes to stderr as plain lines when stderr is not a terminal.
    assert "uploading: 3/3" in err and "importing: 3/3" in err


def test_a_directory_of_good_files_exits_0(
    local_stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = user(local_stack)
    files = {"a.eml": eml("a"), "b.EML": eml("b"), "notes.txt": b"not mail", "sub/c.eml": eml("c")}
    write(tmp_path, files)
    args = ("--api", local_stack.api_url, "--token", token, "--quiet")
    code, out, err = cli(capsys, *args, str(tmp_path))
    assert (code, out, err) == (0, "stored 2, duplicate 0, rejected 0, pending 0\n", "")
    (tmp_path / "sub" / "d.eml").write_bytes(eml("d"))
    code, out, _ = cli(capsys, *args, "--recursive", "--folder", "inbox", str(tmp_path))
    assert code == 0
    assert out.splitlines()[-1] == "stored 2, duplicate 2, rejected 0, pending 0"
    inbox = next(f for f in folders(local_stack, token) if f["id"] == "inbox")
    assert inbox["total"] == 4


def test_json_output_is_the_final_batches(
    local_stack: LocalStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAILPORT_API", local_stack.api_url)
    monkeypatch.setenv("MAILPORT_TOKEN", user(local_stack))
    paths = write(tmp_path, {"one.eml": eml("one"), "two.eml": eml("two")})
    code, out, _ = cli(capsys, "--json", "--quiet", *paths)
    assert code == 0
    batches = json.loads(out)
    assert len(batches) == 1 and batches[0]["done"] is True
    assert batches[0]["counts"]["stored"] == 2
    assert [f["name"] for f in batches[0]["files"]] == ["one.eml", "two.eml"]
    assert all("upload" not in f for f in batches[0]["files"])  # no presigned POSTs


def test_the_same_file_twice_is_stored_once(
    local_stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = user(local_stack)
    [path] = write(tmp_path, {"twice.eml": eml("twice")})
    code, out, err = cli(capsys, "--api", local_stack.api_url, "--token", token, "-q", path, path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[-1] == "stored 1, duplicate 1, rejected 0, pending 0"
    assert len(lines) == 2 and lines[0].startswith(f"{path}: duplicate: ")


def test_an_unknown_folder_lists_the_folders(
    local_stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write(tmp_path, {"a.eml": eml("a")})
    args = ("--api", local_stack.api_url, "--token", user(local_stack), "--folder", "Nowhere")
    code, out, err = cli(capsys, *args, *paths)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert "Nowhere" in err and "Inbox" in err and "Sent" in err


def test_a_missing_token_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILPORT_TOKEN", raising=False)
    paths = write(tmp_path, {"a.eml": eml("a")})
    code, out, err = cli(capsys, *paths)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert "MAILPORT_TOKEN" in err and "/v1/local/login" in err


def test_a_bad_token_or_no_server_is_one_line(
    local_stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write(tmp_path, {"a.eml": eml("a")})
    code, out, err = cli(capsys, "--api", local_stack.api_url, "--token", "not-a-token", *paths)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "not-a-token" not in err and "/v1/local/login" in err
    nowhere = f"http://127.0.0.1:{free_port()}"
    code, out, err = cli(capsys, "--api", nowhere, "--token", "secret-token", *paths)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "cannot reach" in err and "secret-token" not in err
    code, _, err = cli(capsys, "--token", "t", str(tmp_path / "missing.eml"))
    assert code == 2 and "no such file" in err


def test_a_folder_by_its_japanese_name(
    local_stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = user(local_stack)
    created = requests.post(
        f"{local_stack.api_url}/v1/folders",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": "請求書"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    paths = write(tmp_path, {"invoice.eml": eml("invoice")})
    args = ("--api", local_stack.api_url, "--token", token, "-q", "--folder", "請求書")
    code, out, _ = cli(capsys, *args, *paths)
    assert code == 0
    assert out == "stored 1, duplicate 0, rejected 0, pending 0\n"
    folder = next(f for f in folders(local_stack, token) if f["id"] == created.json()["id"])
    assert folder["total"] == 1


def test_the_installed_script_shows_help() -> None:
    script = Path(sys.executable).parent / "mailport"
    result = subprocess.run(
        [str(script), "upload", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--folder" in result.stdout and "exit status" in result.stdout
