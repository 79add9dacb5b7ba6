"""Fuzzing the data loaders (hypothesis): text files, folders of them, pairs files, CSV/TSV series,
labeled texts (tables and class folders, then their split) and dataset specs, from random bytes,
random text in random encodings and near-valid files.
Every case ends in a valid result or one line of RnnTuiError (tests/fuzzing.py)."""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_tui.data.labeled import LabeledFile, LabeledSplit, read_labeled, split_labeled
from rnn_tui.data.pairs import PairCorpus, PairFile
from rnn_tui.data.series import Series, read_series
from rnn_tui.data.spec import Source, load_labeled, load_pairs, load_series, load_text, resolve
from rnn_tui.data.text import TextCorpus, read_text
from tests.fuzzing import examples, failed, outcome

FUZZ = settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "gbk", "big5", "cp1252", "utf-16", "utf-32", "ascii", "shift_jis",
             "idna", "punycode", "rot13", "base64", "hex", "utf-7", "utf-99", "", "UTF8"]
_names = itertools.count()


@st.composite
def file_bytes(draw: st.DrawFn, text: st.SearchStrategy[str]) -> bytes:
    """Random bytes, or ``text`` encoded (with a BOM, CRLF endings, a bad byte spliced in)."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=600))
    data = draw(text).encode(draw(st.sampled_from(["utf-8", "utf-16", "gbk", "latin-1"])), "replace")
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data
    if data and draw(st.integers(0, 4)) == 0:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + draw(st.binary(min_size=1, max_size=3)) + data[i:]
    return data


_cells = st.one_of(st.text(max_size=8), st.sampled_from(["1", "-2.5", "nan", "inf", "1e309", '"', '""', "", " ", "CC-BY 2.0"]),
                   st.floats().map(str), st.integers().map(str))
_rows = st.lists(st.lists(_cells, max_size=5), max_size=12)
tsv_text = _rows.map(lambda rows: "\n".join("\t".join(row) for row in rows))
csv_text = st.tuples(_rows, st.sampled_from([",", ";", "\t"])).map(lambda r: "\n".join(r[1].join(row) for row in r[0]))


_label_cells = st.one_of(_cells, st.sampled_from(["pos", "neg", " pos ", "label", "Text", "LABEL", '"pos"', '"a,b"', '"x']))
_labeled_rows = st.one_of(st.lists(_label_cells, max_size=4),  # anything, or a label and a text
                          st.tuples(st.sampled_from(["pos", "neg", " neg", "中性"]), st.text(max_size=20)).map(list))


@st.composite
def labeled_text(draw: st.DrawFn) -> str:
    """A table of labels and texts, TSV or CSV, with or without a header row, cells now and then broken."""
    delimiter = draw(st.sampled_from(["\t", ","]))
    header = draw(st.sampled_from([[], ["label", "text"], ["Text", "Label", "id"], ["label"], ["sentiment", "review"]]))
    rows = draw(st.lists(_labeled_rows, max_size=15))
    return "\n".join(delimiter.join(row) for row in [header, *rows] if row)


_columns = st.sampled_from([("label", "text"), ("Label", "TEXT"), ("pos", "neg"), ("text", "text"), ("", " "), ("a,b", '"')])


def _write(folder, suffix: str, data: bytes):
    path = folder / f"f{next(_names)}{suffix}"
    path.write_bytes(data)
    return path


def _check_text(text) -> None:
    if not failed(text):
        assert isinstance(text, str) and text.strip() and "\r" not in text


def _check_pairs(result) -> None:
    if not failed(result):
        assert isinstance(result, PairFile) and result.pairs
        assert all(src.strip() and tgt.strip() and "\t" not in src for src, tgt in result.pairs)


def _check_series(result) -> None:
    if not failed(result):
        assert isinstance(result, Series) and result.values.dim() == 1 and len(result.values) > 0
        assert all(math.isfinite(v) for v in result.values.tolist())


def _check_labeled(result) -> None:
    if not failed(result):
        assert isinstance(result, LabeledFile) and result.texts and len(result.texts) == len(result.labels)
        assert all(text and text == text.strip() for text in result.texts)
        assert all(label and (label == label.strip() or result.layout == "class folders") for label in result.labels)
        assert result.skipped >= len(result.first_skipped) and result.first_skipped == sorted(set(result.first_skipped))


def _check_split(result: LabeledFile, val_fraction: float, test_size: int) -> None:
    """The split of a file that loaded: a valid split, or one line (say a test size too large)."""
    split = outcome(split_labeled, result.texts, result.labels, val_fraction=val_fraction, test_size=test_size)
    if failed(split):
        return
    assert isinstance(split, LabeledSplit)
    assert len(split.train) + len(split.val) + len(split.test) + split.duplicates_removed == len(result.texts)
    assert len(split.test) <= test_size and split.train
    train = {text for text, _ in split.train}
    assert not train & {text for text, _ in split.val + split.test}
    assert Counter(split.train + split.val + split.test) <= Counter(zip(result.texts, result.labels))


@FUZZ
@given(data=file_bytes(labeled_text()), encoding=st.sampled_from(ENCODINGS), columns=_columns,
       suffix=st.sampled_from([".tsv", ".csv", ".txt"]), val_fraction=st.sampled_from([0.0, 0.1, 0.5, 0.99, 1.0, -0.1]),
       test_size=st.integers(-1, 12))
def test_labeled_files(tmp_path_factory, data, encoding, columns, suffix, val_fraction, test_size):
    path = _write(tmp_path_factory.getbasetemp(), suffix, data)
    result = outcome(read_labeled, path, encoding, *columns)
    _check_labeled(result)
    source = outcome(resolve, str(path), *columns)
    if not failed(source) and source.kind == "labels":
        _check_labeled(outcome(load_labeled, source, encoding, *columns))
    if not failed(result):  # and on to the split a classifier trains on
        _check_split(result, val_fraction, test_size)


@settings(FUZZ, max_examples=examples(20))
@given(files=st.lists(st.tuples(st.sampled_from(["", "pos", "neg", " pos", "a/b", "  "]), file_bytes(st.text(max_size=60))),
                      max_size=6),
       encoding=st.sampled_from(ENCODINGS[:6]))
def test_folders_of_class_folders(tmp_path_factory, files, encoding):
    folder = tmp_path_factory.getbasetemp() / f"classes{next(_names)}"
    folder.mkdir()
    for i, (sub, data) in enumerate(files):
        (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / sub / f"{i}.txt").write_bytes(data)
    result = outcome(read_labeled, folder, encoding)
    _check_labeled(result)
    source = outcome(resolve, str(folder))
    if not failed(source):
        assert source.kind in ("text", "labels")
        assert failed(result) or source.kind == "labels"  # what reads as classes is resolved as classes
    if not failed(result):
        assert set(result.labels) <= {"pos", "neg", "a", "  "} and len(set(result.labels)) <= 4
        _check_split(result, 0.2, 1)


@FUZZ
@given(data=file_bytes(st.text(max_size=300)), encoding=st.sampled_from(ENCODINGS),
       suffix=st.sampled_from([".txt", ".md", ""]))
def test_text_files(tmp_path_factory, data, encoding, suffix):
    path = _write(tmp_path_factory.getbasetemp(), suffix, data)
    _check_text(outcome(read_text, path, encoding))
    source = outcome(resolve, str(path))
    if not failed(source) and source.kind == "text":
        text = outcome(load_text, source, encoding)
        _check_text(text)
        if not failed(text):  # and on to token ids
            corpus = outcome(TextCorpus.from_text, text[:200], tokenizer="word" if len(text) % 2 else "char")
            assert failed(corpus) or corpus.n_tokens() > 0


@settings(FUZZ, max_examples=examples(20))
@given(files=st.lists(file_bytes(st.text(max_size=100)), max_size=4), encoding=st.sampled_from(ENCODINGS[:6]))
def test_folders_of_text_files(tmp_path_factory, files, encoding):
    folder = tmp_path_factory.getbasetemp() / f"folder{next(_names)}"
    (folder / "sub").mkdir(parents=True)
    for i, data in enumerate(files):
        (folder / ("sub" if i % 2 else "") / f"{i}.txt").write_bytes(data)
    source = outcome(resolve, str(folder))
    _check_text(outcome(read_text, folder, encoding))
    if not failed(source):
        _check_text(outcome(load_text, source, encoding))


@FUZZ
@given(data=file_bytes(tsv_text), encoding=st.sampled_from(ENCODINGS), reverse=st.booleans(),
       suffix=st.sampled_from([".tsv", ".txt"]))
def test_pairs_files(tmp_path_factory, data, encoding, reverse, suffix):
    path = _write(tmp_path_factory.getbasetemp(), suffix, data)
    result = outcome(load_pairs, Source(str(path), "pairs", path.name, "", path), encoding, reverse=reverse)
    _check_pairs(result)
    if not failed(result):  # and on to the corpus a translator trains on
        corpus = outcome(PairCorpus.from_pairs, result.pairs, val_fraction=0.2, max_src_words=len(data) % 4)
        assert failed(corpus) or len(corpus.train) + len(corpus.val) > 0


@FUZZ
@given(data=file_bytes(csv_text), encoding=st.sampled_from(ENCODINGS),
       column=st.one_of(st.none(), st.integers(-4, 6), st.text(max_size=4), st.sampled_from(["0", "-1", "1", " 2 "])),
       suffix=st.sampled_from([".csv", ".CSV"]))
def test_series_files(tmp_path_factory, data, encoding, column, suffix):
    path = _write(tmp_path_factory.getbasetemp(), suffix, data)
    _check_series(outcome(read_series, path, column=column, encoding=encoding))
    source = outcome(resolve, str(path))
    if not failed(source) and source.kind == "labels":  # a first row naming a "label" or "text" column
        _check_labeled(outcome(load_labeled, source, encoding))
    elif not failed(source):
        assert source.kind == "series"
        _check_series(outcome(load_series, source, column=column, encoding=encoding))


@settings(FUZZ, max_examples=examples(100))
@given(spec=st.one_of(st.text(max_size=40), st.text(max_size=20).map("builtin:".__add__),
                      st.sampled_from(["builtin:", "builtin:hello ", " builtin:hello", "nobody-here/x", "a" * 5000])))
def test_dataset_specs(tmp_path_factory, spec):
    """Any --data: a Source or one line. Run from an empty folder, and never naming a folder
    like / or ~ (resolve would sum the sizes of every .txt file under it)."""
    if spec.strip().startswith(("~", "/", ".")) or not spec.strip():
        spec = "builtin:" + spec
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        source = outcome(resolve, spec)
    finally:
        os.chdir(here)
    if not failed(source):
        assert isinstance(source, Source) and source.kind in ("text", "pairs", "series", "labels")
