"""`data get`: downloads from a real HTTP server on 127.0.0.1, checksums, caching, errors."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rnn_tui.data import download
from rnn_tui.data.download import CORPORA, Remote, cache_dir, cached_path, get
from rnn_tui.errors import RnnTuiError

BODY = ("First line of a small corpus.\n" * 2000).encode()


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (the timeout test) breaks the pipe: expected


class Server:
    """A local HTTP server: ``files`` maps a URL path to bytes; ``requests`` counts hits."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                time.sleep(server.delay)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("RNN_TUI_CACHE", str(folder))
    return folder


def _remote(server: Server, body: bytes = BODY, **changes) -> dict[str, Remote]:
    server.files["/corpus.txt"] = body
    remote = Remote(
        name="toy", url=server.url + "/corpus.txt",
        checksum="sha1:" + hashlib.sha1(body).hexdigest(), filename="toy.txt", kind="text",
        description="a toy corpus", license="CC0",
    )
    return {"toy": replace(remote, **changes)}


def _one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message
    return message


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_TUI_CACHE", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("RNN_TUI_CACHE")
    assert cache_dir() == tmp_path / "xdg" / "rnn-tui"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "rnn-tui"


def test_download_verifies_stores_and_then_uses_the_cache(server, cache):
    remotes = _remote(server)
    assert cached_path("toy", remotes=remotes) is None
    seen: list[tuple[int, int | None]] = []
    path = get("toy", remotes=remotes, progress=lambda done, total: seen.append((done, total)))
    assert path == cache / "toy.txt" and path.read_bytes() == BODY
    assert seen[0] == (0, len(BODY)) and seen[-1] == (len(BODY), len(BODY))
    assert len(server.requests) == 1
    assert sorted(p.name for p in cache.iterdir()) == ["toy.txt"]  # no temp file left

    assert get("toy", remotes=remotes) == path
    assert cached_path("toy", remotes=remotes) == path
    assert len(server.requests) == 1  # served from the cache, no request


def test_a_corrupted_cached_file_is_downloaded_again(server, cache):
    remotes = _remote(server)
    path = get("toy", remotes=remotes)
    path.write_bytes(BODY[:-10])
    assert cached_path("toy", remotes=remotes) is None
    assert get("toy", remotes=remotes).read_bytes() == BODY
    assert len(server.requests) == 2


def test_url_override_and_sha256(server, cache):
    remotes = _remote(server, url="http://127.0.0.1:9/never-used",
                      checksum="sha256:" + hashlib.sha256(BODY).hexdigest())
    server.files["/mirror/corpus.txt"] = BODY
    path = get("toy", remotes=remotes, url=server.url + "/mirror/corpus.txt")
    assert path.read_bytes() == BODY and server.requests == ["/mirror/corpus.txt"]
    assert cached_path("toy", remotes=remotes) == path


def test_checksum_mismatch_leaves_nothing_behind(server, cache):
    remotes = _remote(server, checksum="sha1:" + "0" * 40)
    with pytest.raises(RnnTuiError) as excinfo:
        get("toy", remotes=remotes)
    message = _one_line_error(excinfo)
    assert "sha1:" + "0" * 40 in message and hashlib.sha1(BODY).hexdigest() in message
    assert list(cache.iterdir()) == []
    assert cached_path("toy", remotes=remotes) is None


def test_http_404_is_one_line(server, cache):
    remotes = _remote(server, url=server.url + "/missing.txt")
    with pytest.raises(RnnTuiError) as excinfo:
        get("toy", remotes=remotes)
    message = _one_line_error(excinfo)
    assert "could not download toy from" in message and "404" in message and "--url" in message
    assert list(cache.iterdir()) == []


def test_connection_refused_is_one_line(server, cache):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    remotes = _remote(server, url=f"http://127.0.0.1:{port}/corpus.txt")
    with pytest.raises(RnnTuiError) as excinfo:
        get("toy", remotes=remotes, timeout=5)
    message = _one_line_error(excinfo)
    assert f"127.0.0.1:{port}" in message and "refused" in message.lower()
    assert list(cache.iterdir()) == []


def test_timeout_is_one_line(server, cache):
    server.delay = 0.6
    with pytest.raises(RnnTuiError) as excinfo:
        get("toy", remotes=_remote(server), timeout=0.2)
    assert "timed out" in _one_line_error(excinfo)
    assert list(cache.iterdir()) == []


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_zip_member_is_extracted_after_verification(server, cache):
    archive = _zip({"fra-eng/_about.txt": b"about", "fra-eng/fra.txt": b"Go.\tVa !\n"})
    remotes = _remote(server, body=archive, member="fra-eng/fra.txt", filename="fra-eng.txt")
    path = get("toy", remotes=remotes)
    assert path == cache / "fra-eng.txt" and path.read_bytes() == b"Go.\tVa !\n"
    assert sorted(p.name for p in cache.iterdir()) == ["fra-eng.txt"]  # archive not kept
    assert get("toy", remotes=remotes) == path and len(server.requests) == 1


def test_zip_without_the_member(server, cache):
    remotes = _remote(server, body=_zip({"other.txt": b"x"}), member="fra-eng/fra.txt")
    with pytest.raises(RnnTuiError) as excinfo:
        get("toy", remotes=remotes)
    assert "fra-eng/fra.txt" in _one_line_error(excinfo)
    assert list(cache.iterdir()) == []


def test_unknown_name_lists_the_corpora(cache):
    with pytest.raises(RnnTuiError) as excinfo:
        get("nope")
    assert "tinyshakespeare" in _one_line_error(excinfo)


def test_registry_entries_are_well_formed():
    assert set(CORPORA) == {"tinyshakespeare", "timemachine", "cmn-eng", "fra-eng"}
    for name, r in CORPORA.items():
        algorithm, _, hexdigest = r.checksum.partition(":")
        assert r.name == name and algorithm == "sha1" and len(hexdigest) == 40
        assert r.url.startswith(("http://", "https://")) and r.kind in ("text", "pairs")
        assert (r.member is not None) == r.url.endswith(".zip")
    assert download.CORPORA["fra-eng"].member == "fra-eng/fra.txt"



@pytest.mark.parametrize("path", ["/missing.txt", "/corpus.txt"])
def test_data_get_errors_are_one_line_from_the_first_byte(server, cache, path):
    """`rnn-tui data get` as a user runs it, its stderr a pipe (a log, `2>&1 | less`): the
    progress display leaves nothing before the error (Rich printed a blank line there)."""
    server.files["/corpus.txt"] = BODY  # not Tiny Shakespeare: its checksum does not match
    proc = subprocess.run([sys.executable, "-m", "rnn_tui", "data", "get", "tinyshakespeare", "--url", server.url + path],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("rnn-tui: error: ") and proc.stderr.count("\n") == 1, repr(proc.stderr)
    assert ("404" if path == "/missing.txt" else "checksum") in proc.stderr
    assert server.requests == [path] and list(cache.iterdir()) == []
