"""Reading a data file with bounds: every loader of ``rnn_tui.data`` reads its files through
``read_data_file``, so a device (``/dev/zero``), a named pipe or a huge file is one clear line,
never an endless read or an out-of-memory kill; ``decode_file`` / ``read_file`` turn those bytes
into text (one line for a bad encoding or byte).

No torch here: ``spec.resolve`` sniffs files through it before anything heavy is imported.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rnn_tui.errors import RnnTuiError

MAX_BYTES = 1 << 30  # 1 GiB: the most rnn-tui reads as one dataset (a file, or a folder's files together)


def human_size(n: int) -> str:
    """A human size: 812 B, 1.1 MB."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:.1f} {unit}"


MAX_FILES = 100_000  # the most .txt files a folder dataset may hold: `--data /` stops early, not after a scan of the disk


def text_files(folder: Path) -> list[Path]:
    """The ``.txt`` files under ``folder`` (recursive, sorted by path): what a folder dataset holds.
    The walk stops at ``MAX_FILES`` with one line, so a folder as big as a disk is not scanned whole."""
    found = []
    for path in folder.rglob("*.txt"):
        if path.is_file():
            found.append(path)
            if len(found) > MAX_FILES:
                raise RnnTuiError(f"{folder} holds more than {MAX_FILES:,} .txt files; point --data at a smaller folder")
    return sorted(found)


def check_size(size: int, what: str | Path) -> None:
    """Refuse data of ``size`` bytes over ``MAX_BYTES`` (``what`` names it in the message)."""
    if size > MAX_BYTES:
        raise RnnTuiError(f"{what} is larger than {human_size(MAX_BYTES)}, the most rnn-tui reads as a dataset; "
                          "use a smaller file (a part of it)")


def read_data_file(path: str | Path, head: int | None = None) -> bytes:
    """The bytes of the regular file ``path`` (only its first ``head`` bytes when given).

    Refused with one line: a path that is not a regular file (a device, a named pipe, a
    socket: checked before opening, so a pipe cannot block), and a file of more than
    ``MAX_BYTES``. At most ``MAX_BYTES + 1`` bytes are read, so a file that grows while it is
    read, or reports a wrong size, is still refused rather than read without end.
    """
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, a pipe or a socket)"
            raise RnnTuiError(f"{path} is {what}; point --data at a file of text, pairs or a CSV series")
        check_size(info.st_size, f"{path} ({human_size(info.st_size)})")
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1 if head is None else head)
    except FileNotFoundError:
        raise RnnTuiError(f"no such file or folder: {path}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise RnnTuiError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}; check the path") from None
    check_size(len(data), path)
    return data


def decode_file(path: str | Path, encoding: str = "utf-8") -> str:
    """The text of one file (read by ``read_data_file``: bounded): BOM stripped, CRLF/CR turned
    into "\\n". Errors are one line."""
    return decode_bytes(Path(path), read_data_file(path), encoding)


def decode_bytes(path: Path, data: bytes, encoding: str) -> str:
    """``data`` (read from ``path``) as text: BOM stripped, CRLF/CR turned into "\\n"; a bad encoding
    or an undecodable byte is one line naming it."""
    try:
        text = data.decode(encoding)
    except LookupError:
        raise RnnTuiError(f"unknown encoding {encoding!r}; try utf-8, gbk, big5, latin-1 or cp1252") from None
    except UnicodeError as exc:  # a UnicodeDecodeError says where; some codecs (idna, punycode) do not
        where = f" at byte {exc.start} (0x{data[exc.start]:02x})" if isinstance(exc, UnicodeDecodeError) else ""
        raise RnnTuiError(
            f"{path}: not valid {encoding}{where}; pass --encoding latin-1 (or the file's real encoding)"
        ) from None
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_file(path: str | Path, encoding: str = "utf-8") -> str:
    """``decode_file``, refusing a file with nothing but whitespace in it."""
    text = decode_file(path, encoding)
    if not text.strip():
        raise RnnTuiError(f"{path} is empty: nothing to train on")
    return text
