"""The local files to upload: the paths given, with directories expanded to their .eml files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .api import CliError


@dataclass(frozen=True, slots=True)
class LocalFile:
    """One file to upload: where it is, how it was named, and its size."""

    path: Path
    shown: str
    size: int

    @property
    def name(self) -> str:
        """The name the server keeps (the file's own name, never a path)."""
        return self.path.name


def collect(paths: Sequence[str], recursive: bool) -> list[LocalFile]:
    """Every file named, in order; a directory gives its ``*.eml`` files (deeply if recursive)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found.extend(_emls_in(path, recursive))
        elif path.is_file():
            found.append(path)
        else:
            raise CliError(f"no such file: {raw}")
    if not found:
        raise CliError("no .eml files to upload")
    return [_local(p) for p in found]


def _emls_in(directory: Path, recursive: bool) -> list[Path]:
    entries: Iterable[Path] = directory.rglob("*") if recursive else directory.iterdir()
    return sorted(p for p in entries if p.suffix.lower() == ".eml" and p.is_file())


def _local(path: Path) -> LocalFile:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None
    return LocalFile(path, str(path), size)


def chunks(files: Sequence[LocalFile], size: int) -> list[list[LocalFile]]:
    """The files in batches of at most ``size``."""
    return [list(files[i : i + size]) for i in range(0, len(files), size)]
