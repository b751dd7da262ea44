"""``mailport upload``: send .eml files into a folder and say what became of each one."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TextIO

from .api import LOGIN_HINT, Api, CliError, Json
from .files import LocalFile, chunks, collect
from .folders import resolve_folder
from .progress import Progress
from .transfer import send_file

MAX_FILES = 500  # the API's limit per batch
DEFAULT_API = "http://127.0.0.1:8000"
STATUSES = ("stored", "duplicate", "rejected", "pending")


@dataclass(frozen=True, slots=True)
class Options:
    """What ``mailport upload`` was asked to do."""

    api: str
    token: str
    folder: str
    paths: Sequence[str]
    recursive: bool = False
    apply_rules: bool = False
    concurrency: int = 4
    timeout: float = 300.0
    quiet: bool = False
    as_json: bool = False


@dataclass(slots=True)
class Sent:
    """A batch the server made, its local files by index, and the files that did not arrive."""

    files: list[LocalFile]
    doc: Json
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def batch_id(self) -> str:
        """The batch's id."""
        return str(self.doc.get("id", ""))

    def entries(self) -> list[Json]:
        """The batch's file entries, as last read."""
        return [f for f in self.doc.get("files", []) if isinstance(f, dict)]

    def settled(self) -> int:
        """How many files have an outcome (or will never get one: their upload failed)."""
        return sum(
            1
            for f in self.entries()
            if f.get("status") != "pending" or f.get("index") in self.failed
        )


def options_from(args: Any) -> Options:
    """Options from parsed arguments, with the environment's defaults."""
    api = args.api or os.environ.get("MAILPORT_API") or DEFAULT_API
    token = args.token or os.environ.get("MAILPORT_TOKEN") or ""
    if not token:
        raise CliError(f"no token: pass --token or set MAILPORT_TOKEN ({LOGIN_HINT})")
    return Options(
        api=api,
        token=token,
        folder=args.folder,
        paths=args.paths,
        recursive=args.recursive,
        apply_rules=args.apply_rules,
        concurrency=args.concurrency,
        timeout=args.timeout,
        quiet=args.quiet,
        as_json=args.json,
    )


def command(args: Any) -> int:
    """Run ``mailport upload`` from parsed arguments; the exit code."""
    return run(options_from(args), sys.stdout, sys.stderr)


def run(opts: Options, out: TextIO, err: TextIO) -> int:
    """Upload, wait for the import, report; 0 when all went in, 1 when some did not."""
    files = collect(opts.paths, opts.recursive)
    api = Api(opts.api, opts.token)
    folder = resolve_folder(api, opts.folder)
    progress = Progress(err, quiet=opts.quiet)
    progress.start("uploading", len(files))
    sent = [
        send_batch(api, str(folder["id"]), chunk, opts, progress)
        for chunk in chunks(files, MAX_FILES)
    ]
    progress.finish()
    wait(api, sent, opts.timeout, progress)
    counts = report(sent, out, as_json=opts.as_json)
    return 1 if counts["rejected"] or counts["pending"] else 0


def send_batch(
    api: Api, folder_id: str, files: list[LocalFile], opts: Options, progress: Progress
) -> Sent:
    """Create one batch and upload its files concurrently."""
    doc = api.post(
        "/v1/uploads",
        {
            "folder_id": folder_id,
            "apply_rules": opts.apply_rules,
            "files": [{"name": f.name, "size": f.size} for f in files],
        },
    )
    posts = {
        int(f["index"]): f["upload"] for f in doc.get("files", []) if f.get("upload") is not None
    }
    progress.advance(len(files) - len(posts))  # refused before upload: nothing to send
    sent = Sent(files, _without_posts(doc))
    pool = ThreadPoolExecutor(max_workers=opts.concurrency, thread_name_prefix="upload")
    try:
        futures = {pool.submit(send_file, files[i], post): i for i, post in posts.items()}
        _collect_failures(futures, sent, progress)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return sent


def _collect_failures(futures: dict[Future[str | None], int], sent: Sent, p: Progress) -> None:
    for future in as_completed(futures):
        why = future.result()
        if why:
            sent.failed[futures[future]] = why
        p.advance()


def _without_posts(doc: Json) -> Json:
    """A batch document without its presigned POSTs (they are credentials, for a while)."""
    files = [
        {k: v for k, v in f.items() if k != "upload"}
        for f in doc.get("files", [])
        if isinstance(f, dict)
    ]
    return {**doc, "files": files}


def wait(api: Api, sent: list[Sent], timeout: float, progress: Progress) -> None:
    """Poll every batch until each file has an outcome, or until ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    total = sum(len(s.files) for s in sent)
    progress.start("importing", total)
    delay = 0.25
    while True:
        for s in sent:
            if s.settled() < len(s.files):
                s.doc = api.get(f"/v1/uploads/{s.batch_id}")
        done = sum(s.settled() for s in sent)
        progress.set(done)
        left = deadline - time.monotonic()
        if done >= total or left <= 0:
            break
        time.sleep(min(delay, left))
        delay = min(delay * 1.5, 2.0)
    progress.finish()


def report(sent: list[Sent], out: TextIO, *, as_json: bool) -> Counter[str]:
    """Print the outcome (a line per file not stored, then totals, or JSON); the totals."""
    counts: Counter[str] = Counter()
    lines: list[str] = []
    for s in sent:
        for entry in s.entries():
            status = str(entry.get("status"))
            counts[status] += 1
            if status != "stored":
                lines.append(_line(s, entry))
    if as_json:
        out.write(json.dumps([s.doc for s in sent], ensure_ascii=False, indent=2) + "\n")
        return counts
    for line in lines:
        out.write(line + "\n")
    out.write(", ".join(f"{name} {counts[name]}" for name in STATUSES) + "\n")
    return counts


def _line(sent: Sent, entry: Json) -> str:
    """``path: status (reason): message`` for one file."""
    index = int(entry.get("index", 0))
    shown = sent.files[index].shown if index < len(sent.files) else str(entry.get("name"))
    status = str(entry.get("status"))
    reason = entry.get("reason")
    message = entry.get("message")
    if status == "pending":
        failed = sent.failed.get(index)
        reason = "upload_failed" if failed else "timeout"
        message = failed or (f"not imported yet; check later with GET /v1/uploads/{sent.batch_id}")
    head = f"{shown}: {status}" + (f" ({reason})" if reason else "")
    return f"{head}: {message}" if message else head
