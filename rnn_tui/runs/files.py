"""File primitives of the run directory: atomic replace, append-only JSON lines, tolerant reads."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old file or the new one, never a mix."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _naming(exc, path) from None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=1) + "\n")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable (not a regular file
    of at most JSON_MAX_BYTES: a pipe would block the reader, a device never end)."""
    if not _regular(path):
        return None
    try:
        with open(path, "rb") as f:
            data = f.read(JSON_MAX_BYTES + 1)
        obj = json.loads(data) if len(data) <= JSON_MAX_BYTES else None
    except (OSError, ValueError, RecursionError):  # RecursionError: "[[[[…" nested past Python's limit
        return None
    return obj if isinstance(obj, dict) else None


JSON_MAX_BYTES = 256 << 20  # status.json is a few hundred bytes, a checkpoint's metadata at most a few MB (a vocabulary)


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    """Append one record as one line (one write) and flush it to disk before returning.

    A torn last line (a writer killed mid-line, a full disk) is ended first, so it stays one
    unreadable line that readers skip instead of being glued to this record.
    """
    line = (json.dumps(record, ensure_ascii=False, allow_nan=True) + "\n").encode("utf-8")
    try:
        with open(path, "a+b", buffering=0) as f:
            size = f.seek(0, os.SEEK_END)
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    line = b"\n" + line
            f.write(line)  # append mode: at the end, whatever the position
            os.fsync(f.fileno())
    except OSError as exc:
        raise _naming(exc, path) from None


def _naming(exc: BaseException, path: Path) -> BaseException:
    """``exc`` with the file it was writing named (a failed write() does not say which file)."""
    if isinstance(exc, OSError) and exc.filename is None:
        return OSError(exc.errno, exc.strerror, str(path))
    return exc


TEMP_GLOB = ".*.tmp"  # what atomic_write_bytes leaves behind when it is killed mid-write


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``folder``; those deleted.
    Only call this while no writer can be writing there (a trainer holding the run's lock)."""
    removed = []
    for path in Path(folder).glob(TEMP_GLOB):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def read_jsonl(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Records appended after byte ``offset``, and the offset to continue from.

    A torn last line (a writer caught mid-write, or killed) is not consumed: the returned
    offset stops before it, so the next read picks it up once it is complete. A complete line
    that is not valid JSON is skipped.
    """
    if not _regular(path):  # missing, or a pipe or device in its place
        return [], offset
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    records = []
    for raw in data[:end].splitlines():
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records, offset + end
