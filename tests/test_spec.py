"""Dataset SPECs: builtin:NAME, files, folders and downloaded corpora; loading by kind."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_tui.data import datafile, download
from rnn_tui.data.download import Remote
from rnn_tui.data.spec import list_datasets, load_labeled, load_pairs, load_series, load_text, resolve
from rnn_tui.data.text import read_text
from rnn_tui.errors import RnnTuiError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("RNN_TUI_CACHE", str(folder))
    return folder


def test_resolve_builtin():
    source = resolve("builtin:numbers-en-zh")
    assert (source.kind, source.name, source.path) == ("pairs", "builtin:numbers-en-zh", None)
    assert source.spec == "builtin:numbers-en-zh" and source.description
    with pytest.raises(RnnTuiError, match="no built-in dataset 'nope'"):
        resolve("builtin:nope")


@pytest.mark.parametrize("filename, content, kind", [
    ("a.txt", "hello world\n", "text"),
    ("a.md", "no tabs here\tbut on line one\n", "pairs"),
    ("b.txt", "\n\n  \nEnglish\t中文\n", "pairs"),  # first non-empty line has a TAB
    ("c.txt", "plain first line\nsecond\twith tab\n", "text"),
    ("d.tsv", "no tab at all\n", "pairs"),
    ("e.csv", "t,v\n1,2\n", "series"),
    ("f.CSV", "t,v\n1,2\n", "series"),
    ("g.tsv", "label\ttext\npos\tgood\n", "labels"),  # a first row naming the label or text column
    ("h.csv", '"Text","Label"\n"good",pos\n', "labels"),
    ("i.txt", "id\ttext\n1\tgood\n", "labels"),
    ("j.tsv", "pos\tgood\nneg\tbad\npos\tfine\nneg\tawful\n", "labels"),  # headerless: one column repeats
    ("k.tsv", "good\tpos\nbad\tneg\nfine\tpos\nawful\tneg\n", "labels"),
    ("l.tsv", "Hi.\t嗨。\nHi.\t你好。\nRun.\t跑。\nRun.\t快跑。\n", "labels"),  # 2 distinct sources in 4 rows
    ("m.tsv", "Hi.\t嗨。\nHi.\t你好。\nRun.\t跑。\n", "pairs"),  # ... in 3 rows: not repeating enough
    ("n.tsv", "pos\tgood\tCC-BY\nneg\tbad\tCC-BY\npos\tfine\tCC-BY\n", "pairs"),  # three cells a row
    ("o.csv", "pos,good\nneg,bad\npos,fine\nneg,awful\n", "series"),  # a CSV is labels by its header only
])
def test_resolve_file_kind(tmp_path, filename, content, kind):
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    source = resolve(str(path))
    assert (source.kind, source.name, source.path) == (kind, filename, path)


def test_resolve_names_the_columns_of_labeled_texts(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("sentiment,review\nbad,awful\ngood,lovely\n", encoding="utf-8")
    assert resolve(str(path)).kind == "series"
    assert resolve(str(path), label_column="sentiment").kind == "labels"
    assert resolve(str(path), text_column="Review").kind == "labels"
    assert load_labeled(resolve(str(path)), label_column="sentiment", text_column="review").labels == ["bad", "good"]
    with pytest.raises(RnnTuiError, match=r"has no column 'label' in its first row \(columns: 'sentiment', 'review'\)"):
        load_labeled(resolve(str(path)))  # a series file read as labels says what is missing


def test_the_sniff_reads_only_the_start_of_a_long_file(tmp_path, monkeypatch):
    from rnn_tui.data import spec

    path = tmp_path / "long.tsv"
    path.write_text("".join(f"sentence {i}\tphrase {i}\n" for i in range(200)) + "".join(f"pos\tline {i}\n" for i in range(500)),
                    encoding="utf-8")
    monkeypatch.setattr(spec, "SNIFF_BYTES", 1000)  # the file's start holds pairs; its repeating tail is never read
    assert resolve(str(path)).kind == "pairs"
    monkeypatch.setattr(spec, "SNIFF_BYTES", 1 << 20)
    assert resolve(str(path)).kind == "labels"


def test_resolve_folder_of_txt_files(tmp_path):
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")
    (tmp_path / "skip.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third\n", encoding="utf-8")
    source = resolve(str(tmp_path))
    assert source.kind == "text" and "3 .txt files" in source.description
    assert load_text(source) == "first\nsecond\n\nthird\n"
    empty = tmp_path.parent / (tmp_path.name + "-empty")
    empty.mkdir()
    with pytest.raises(RnnTuiError, match=r"no \.txt files"):
        resolve(str(empty))


def test_resolve_corpus_name_needs_a_download_first(cache, monkeypatch):
    body = b"To be, or not to be\n"
    remote = Remote("toy", "http://127.0.0.1:9/toy.txt", "sha1:" + hashlib.sha1(body).hexdigest(),
                    "toy.txt", "text", "a toy corpus", "CC0")
    monkeypatch.setitem(download.CORPORA, "toy", remote)
    with pytest.raises(RnnTuiError) as excinfo:
        resolve("toy")
    assert "run `rnn-tui data get toy` first" in str(excinfo.value)
    assert [row["downloaded"] for row in list_datasets() if row["spec"] == "toy"] == [False]

    cache.mkdir()
    (cache / "toy.txt").write_bytes(body)
    source = resolve("toy")
    assert (source.kind, source.path, source.description) == ("text", cache / "toy.txt",
                                                              "a toy corpus")
    assert load_text(source) == "To be, or not to be\n"
    assert [row["downloaded"] for row in list_datasets() if row["spec"] == "toy"] == [True]

    (cache / "toy.txt").write_bytes(b"tampered\n")  # a file that fails its checksum is not used
    with pytest.raises(RnnTuiError, match="data get toy"):
        resolve("toy")


def test_resolve_nothing_matches(cache):
    with pytest.raises(RnnTuiError) as excinfo:
        resolve("no/such/file.txt")
    assert str(excinfo.value) == (
        "no such file or dataset: no/such/file.txt; see `rnn-tui data list`")


def test_load_builtins_of_each_kind():
    assert load_text(resolve("builtin:hello")).startswith("hello\nhello\n")
    pairs = load_pairs(resolve("builtin:numbers-en-zh"))
    assert len(pairs.pairs) == 10_000 and pairs.skipped == 0 and pairs.first_skipped == []
    assert ("two thousand and nine", "两千零九") in pairs.pairs
    reversed_pairs = load_pairs(resolve("builtin:numbers-en-zh"), reverse=True)
    assert ("两千零九", "two thousand and nine") in reversed_pairs.pairs
    series = load_series(resolve("builtin:sine"))
    assert series.name == "sine" and next(iter(series.values.shape)) == 4000
    for name, classes in (("parity", {"even", "odd"}), ("balanced", {"balanced", "unbalanced"})):
        source = resolve(f"builtin:{name}")
        assert (source.kind, source.path) == ("labels", None)
        labeled = load_labeled(source)
        assert set(labeled.labels) == classes and len(labeled.texts) == len(labeled.labels) > 19_000
        assert (labeled.skipped, labeled.layout) == (0, "generated")


def test_load_files_through_the_readers(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("héllo\n", encoding="utf-8")
    assert load_text(resolve(str(text))) == "héllo\n"
    tsv = tmp_path / "p.tsv"
    tsv.write_text("Hi.\t嗨。\nRun.\t跑。\n", encoding="utf-8")
    pairs = load_pairs(resolve(str(tsv)))
    assert pairs.pairs == [("Hi.", "嗨。"), ("Run.", "跑。")]
    assert load_pairs(resolve(str(tsv)), reverse=True).pairs[0] == ("嗨。", "Hi.")
    csv = tmp_path / "s.csv"
    csv.write_text('"Month","Passengers"\n"1949-01",112\n"1949-02",118\n', encoding="utf-8")
    assert [float(v) for v in load_series(resolve(str(csv))).values] == [112.0, 118.0]


@pytest.mark.parametrize("spec, loader, said", [
    ("builtin:sine", load_text, "a time series"),
    ("builtin:hello", load_pairs, "text"),
    ("builtin:phrases-en-zh", load_series, "sentence pairs"),
    ("builtin:phrases-en-zh", load_labeled, "sentence pairs"),
    ("builtin:hello", load_labeled, "text"),
    ("builtin:parity", load_text, "labeled texts"),
])
def test_loading_the_wrong_kind_says_what_it_is(spec, loader, said):
    with pytest.raises(RnnTuiError) as excinfo:
        loader(resolve(spec))
    message = str(excinfo.value)
    assert message.startswith(f"{spec} holds {said}, not ") and "\n" not in message


def test_list_datasets(cache):
    rows = list_datasets()
    specs = [row["spec"] for row in rows]
    assert specs[:9] == ["builtin:hello", "builtin:brackets", "builtin:arith",
                         "builtin:numbers-en-zh", "builtin:phrases-en-zh", "builtin:sine",
                         "builtin:python-stdlib", "builtin:parity", "builtin:balanced"]
    assert {"tinyshakespeare", "timemachine", "cmn-eng", "fra-eng"} <= set(specs)
    assert [row["kind"] for row in rows[7:9]] == ["labels", "labels"]
    for row in rows:
        assert set(row) == {"spec", "kind", "description", "downloaded"}
        assert row["downloaded"] is row["spec"].startswith("builtin:")  # empty cache


def test_spec_imports_neither_torch_nor_textual():
    code = ("import sys, rnn_tui.data.spec, rnn_tui.data.download, rnn_tui.data.builtin; "
            "bad = [m for m in ('torch', 'textual', 'rich') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- bounded reads: a device, a pipe, a file too large ---------------------------------------------


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize("loader", [None, load_text])
def test_a_device_is_refused_before_reading(loader):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with pytest.raises(RnnTuiError) as excinfo:
        source = resolve("/dev/zero")
        if loader is not None:  # a Source made by hand reaches the reader itself
            loader(source)
    assert _one_line(excinfo) == ("/dev/zero is not a regular file (a device, a pipe or a socket); "
                                  "point --data at a file of text, pairs or a CSV series")
    from rnn_tui.data.spec import Source
    with pytest.raises(RnnTuiError, match="not a regular file"):
        load_text(Source("/dev/zero", "text", "zero", "", Path("/dev/zero")))


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name, loader", [("pipe.txt", load_text), ("pipe.tsv", load_pairs), ("pipe.csv", load_series)])
def test_a_named_pipe_is_refused_without_blocking(tmp_path, name, loader):
    """Opening a FIFO with no writer blocks for ever: it must be refused before it is opened."""
    from rnn_tui.data.spec import Source

    fifo = tmp_path / name
    os.mkfifo(fifo)
    with pytest.raises(RnnTuiError) as excinfo:
        resolve(str(fifo))
    assert "is not a regular file" in _one_line(excinfo)
    kind = {"txt": "text", "tsv": "pairs", "csv": "series"}[name.split(".")[1]]
    with pytest.raises(RnnTuiError, match="is not a regular file"):
        loader(Source(str(fifo), kind, name, "", fifo))


@pytest.fixture
def limit(monkeypatch):
    """A 100-byte limit on data (MAX_BYTES is read at each call)."""
    monkeypatch.setattr(datafile, "MAX_BYTES", 100)
    return 100


@pytest.mark.parametrize("name, loader", [("big.txt", load_text), ("big.tsv", load_pairs), ("big.csv", load_series)])
def test_a_file_over_the_limit_is_refused(tmp_path, limit, name, loader):
    from rnn_tui.data.spec import Source

    path = tmp_path / name
    path.write_bytes(b"a\tb,1\n" * 17)  # 102 bytes
    with pytest.raises(RnnTuiError) as excinfo:
        resolve(str(path))
    assert _one_line(excinfo).startswith(f"{path} (102 B) is larger than 100 B, the most rnn-tui reads as a dataset")
    kind = {"txt": "text", "tsv": "pairs", "csv": "series"}[name.split(".")[1]]
    with pytest.raises(RnnTuiError, match="is larger than 100 B"):
        loader(Source(str(path), kind, name, "", path))
    path.write_bytes(b"a\tb,1\n" * 16)  # 96 bytes: fine
    resolve(str(path))
    loader(Source(str(path), kind, name, "", path))


def test_a_folder_over_the_limit_is_refused(tmp_path, limit):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(b"x" * 60)  # each under the limit, together over it
    with pytest.raises(RnnTuiError) as excinfo:
        resolve(str(tmp_path))
    assert _one_line(excinfo).startswith(f"folder {tmp_path} is larger than 100 B")
    with pytest.raises(RnnTuiError, match="is larger than 100 B"):
        read_text(tmp_path)


def test_a_file_larger_than_it_says_is_still_bounded(monkeypatch):
    """/proc files report size 0 whatever they hold: the read itself stops after the limit."""
    path = Path("/proc/self/maps")
    if not path.exists():
        pytest.skip("no /proc here")
    assert path.stat().st_size == 0
    monkeypatch.setattr(datafile, "MAX_BYTES", 50)
    with pytest.raises(RnnTuiError, match="/proc/self/maps is larger than 50 B"):
        read_text(path)
    reads = []
    real_open = open

    def spy(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        real_read = f.read
        f_read = lambda n=-1: reads.append(n) or real_read(n)  # noqa: E731
        return _Wrapped(f, f_read)

    monkeypatch.setattr(datafile, "open", spy, raising=False)
    with pytest.raises(RnnTuiError, match="is larger than 50 B"):
        read_text(path)
    assert reads == [51]


class _Wrapped:
    """A file whose ``read`` is replaced (the real one is a read-only attribute)."""

    def __init__(self, f, read):
        self._f, self.read = f, read

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def test_a_file_name_too_long_or_an_unknown_home_is_no_such_file():
    for spec in ("a" * 5000, "~no-such-user-here/x.txt"):
        with pytest.raises(RnnTuiError) as excinfo:
            resolve(spec)
        assert _one_line(excinfo).startswith("no such file or dataset: ")


def test_a_binary_file_with_a_tab_is_not_taken_for_pairs(tmp_path):
    binary = tmp_path / "noise.txt"
    binary.write_bytes(b"\x93\x00\tz\xff" * 50 + b"\n")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("hello\t你好\n", encoding="utf-8")
    assert resolve(str(binary)).kind == "text"  # so the text reader says which byte is not text
    assert resolve(str(pairs)).kind == "pairs"
