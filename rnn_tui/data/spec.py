"""Resolve a dataset SPEC (``--data``) to a ``Source`` and load it.

A SPEC is ``builtin:NAME``, a path to a file or a folder of ``.txt`` files, or the name of a
corpus fetched with ``rnn-tui data get NAME``. The kind of a file is guessed from its name and
start (``_file_kind``): a table (``.tsv``, ``.csv``, or a TAB in the first non-empty line) is
labels when its first row names the label or the text column, or when it is a headerless TSV
whose one column repeats its values (``labeled.label_side``); otherwise a TSV is pairs, a CSV a
series, and anything else text. A folder is labels when its ``.txt`` files all sit in two or
more sub-folders (one per class), else text. torch is imported only inside ``load_series``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rnn_tui.data import builtin, download
from rnn_tui.data.datafile import check_size, human_size, read_data_file, text_files
from rnn_tui.data.labeled import LABEL_COLUMN, TEXT_COLUMN, LabeledFile, folder_classes, read_labeled, sniff_labels
from rnn_tui.errors import RnnTuiError

if TYPE_CHECKING:
    from rnn_tui.data.pairs import PairFile
    from rnn_tui.data.series import Series

BUILTIN_PREFIX = "builtin:"
SNIFF_BYTES = 64 * 1024


@dataclass
class Source:
    """A resolved dataset: what it is and where it lives (``path`` is None for a builtin)."""

    spec: str
    kind: str  # "text" | "pairs" | "series" | "labels"
    name: str  # display name
    description: str
    path: Path | None


def _file_kind(path: Path, head: bytes, label_column: str, text_column: str) -> str:
    """The kind of a file from its suffix and ``head`` (its first bytes). A table is a ``.tsv`` or
    ``.csv`` file, or one whose first non-empty line holds a TAB (UTF-8 text only: the TAB of a
    binary file means nothing, and the text reader then says which byte is not text). A table of
    labeled texts (``labeled.sniff_labels``) is labels; other tables are pairs (TSV) or a series
    (CSV); anything else is text."""
    suffix = path.suffix.lower()
    first = next((line for line in head.splitlines() if line.strip()), b"")
    if suffix not in (".tsv", ".csv"):
        try:
            first.decode("utf-8")
        except UnicodeDecodeError:
            return "text"
        if b"\t" not in first:
            return "text"
    if len(head) == SNIFF_BYTES:  # the file goes on: its last line here may be cut
        head = head[: head.rfind(b"\n") + 1]
    delimiter = "," if suffix == ".csv" else "\t"
    text = head.decode("utf-8", "replace").removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if sniff_labels(text, delimiter, label_column, text_column):
        return "labels"
    return "series" if suffix == ".csv" else "pairs"


def _path_source(spec: str, path: Path, label_column: str, text_column: str) -> Source:
    if path.is_dir():
        files = text_files(path)
        if not files:
            raise RnnTuiError(
                f"folder {path} has no .txt files; point --data at a file or a folder of .txt files"
            )
        size = sum(p.stat().st_size for p in files)
        check_size(size, f"folder {path}")
        classes = folder_classes(path, files)
        if classes is not None:
            return Source(spec, "labels", path.name,
                          f"folder of {len(set(classes))} classes, {len(files)} .txt files, {human_size(size)}", path)
        return Source(spec, "text", path.name, f"folder of {len(files)} .txt files, {human_size(size)}", path)
    head = read_data_file(path, head=SNIFF_BYTES)  # refuses a device, a pipe, a file too large
    kind = _file_kind(path, head, label_column, text_column)
    return Source(spec, kind, path.name, f"{kind} file, {human_size(path.stat().st_size)}", path)


def _existing_path(spec: str) -> Path | None:
    """``spec`` as the path of something that exists, else None (also for a name too long for
    the system, or ``~user`` of an unknown user)."""
    try:
        path = Path(spec).expanduser()
        return path if spec and path.exists() else None
    except (OSError, RuntimeError):
        return None


def resolve(spec: str, label_column: str = LABEL_COLUMN, text_column: str = TEXT_COLUMN) -> Source:
    """The ``Source`` named by ``spec``; ``RnnTuiError`` if nothing matches. A table whose first
    row names ``label_column`` or ``text_column`` is labels (pass the names a classifier uses)."""
    spec = spec.strip()
    if spec.startswith(BUILTIN_PREFIX):
        b = builtin.get_builtin(spec[len(BUILTIN_PREFIX):])
        return Source(spec, b.kind, BUILTIN_PREFIX + b.name, b.description, None)
    path = _existing_path(spec)
    if path is not None:
        return _path_source(spec, path, label_column, text_column)
    if spec in download.CORPORA:
        remote = download.CORPORA[spec]
        cached = download.cached_path(spec)
        if cached is None:
            raise RnnTuiError(f"{spec} is not downloaded yet; run `rnn-tui data get {spec}` first")
        return Source(spec, remote.kind, remote.name, remote.description, cached)
    raise RnnTuiError(f"no such file or dataset: {spec}; see `rnn-tui data list`")


_KIND_WORDS = {"text": "text", "pairs": "sentence pairs", "series": "a time series", "labels": "labeled texts"}


def _require(source: Source, kind: str) -> None:
    if source.kind != kind:
        raise RnnTuiError(
            f"{source.name} holds {_KIND_WORDS.get(source.kind, source.kind)}, "
            f"not {_KIND_WORDS[kind]}; pick a {kind} dataset (see `rnn-tui data list`)"
        )


def _builtin_of(source: Source) -> builtin.Builtin | None:
    if source.path is None:
        return builtin.get_builtin(source.name.removeprefix(BUILTIN_PREFIX))
    return None


BUDGETS = ("train.steps", "train.time", "train.epochs")  # the first reached stops: one budget, however given


def recommended(spec: str, chosen: Collection[str] = ()) -> dict[str, Any]:
    """The settings recommended for the dataset ``spec`` ("task" and "section.name" keys; see
    ``builtin.Builtin``): a built-in's, none for any other data (or a spec that names nothing).
    Those in ``chosen`` (the user's) are left out, and the whole budget when the user gave one:
    `--steps 1500` is not cut short by a recommended `--time 60`."""
    spec = spec.strip()
    if not spec.startswith(BUILTIN_PREFIX):
        return {}
    try:
        settings = dict(builtin.get_builtin(spec[len(BUILTIN_PREFIX):]).recommended)
    except RnnTuiError:
        return {}
    left_out = set(chosen) | (set(BUDGETS) if set(chosen) & set(BUDGETS) else set())
    return {key: value for key, value in settings.items() if key not in left_out}


def holds_text(source: Source) -> bool:
    """Whether ``load_text`` reads ``source``: text, or a folder of class folders (its texts)."""
    return source.kind == "text" or (source.kind == "labels" and source.path is not None and source.path.is_dir())


_TASK_DATA = {"lm": "text", "seq2seq": "source<TAB>target pairs",
              "classify": "labeled texts (label and text columns, or a folder per class)",
              "forecast": "a time series (a CSV/TSV column, or one number per line)"}
_TASK_NAMES = {"lm": "a language model", "seq2seq": "translation", "classify": "classification",
               "forecast": "forecasting"}


def check_task(task: str, source: Source) -> None:
    """One clear line when ``source`` is not what ``task`` trains on. A table that is not labels
    passes for classify: its reader then says which column is missing; any file passes for
    forecast (``load_series`` says which line is not a number)."""
    fits = {"lm": holds_text(source), "seq2seq": source.kind == "pairs", "classify": source.kind != "text",
            "forecast": _series_file(source) or source.kind == "series"}[task]
    if not fits:
        raise RnnTuiError(f"{source.spec} is a {source.kind} dataset; {_TASK_NAMES[task]} (--task {task}) trains on "
                          f"{_TASK_DATA[task]}")


def load_text(source: Source, encoding: str = "utf-8") -> str:
    """The text of a text source (a folder's ``.txt`` files joined in path order; a folder of
    class folders too)."""
    if not holds_text(source):
        _require(source, "text")
    from rnn_tui.data.text import read_text

    b = _builtin_of(source)
    if b is not None:
        return str(b.generate())
    assert source.path is not None
    return read_text(source.path, encoding)


def load_pairs(source: Source, encoding: str = "utf-8", reverse: bool = False) -> PairFile:
    """The sentence pairs of a pairs source; ``reverse`` swaps source and target."""
    _require(source, "pairs")
    from rnn_tui.data.pairs import PairFile, read_pairs

    b = _builtin_of(source)
    if b is not None:
        pairs = cast("list[tuple[str, str]]", b.generate())
        if reverse:
            pairs = [(tgt, src) for src, tgt in pairs]
        return PairFile(pairs=pairs, skipped=0, first_skipped=[])
    assert source.path is not None
    return read_pairs(source.path, encoding, reverse=reverse)


def _series_file(source: Source) -> bool:
    return source.path is not None and source.path.is_file()


def load_series(source: Source, column: str | int | None = None, encoding: str = "utf-8",
                date_column: str | int | None = None, features: list[str] | None = None,
                guess_dates: bool = False) -> Series:
    """The values of a series source (``column``, a name or index, picks a CSV column; the rest
    as ``series.read_series``). Any file is read as a table of numbers, whatever its kind was
    guessed to be (a file of one number per line guesses as text): its reader says which line
    is not a number."""
    if not _series_file(source):
        _require(source, "series")
    import torch  # ~1.5 s: only when a series is actually loaded

    from rnn_tui.data.series import Series, read_series

    b = _builtin_of(source)
    if b is not None:
        if features or date_column not in (None, ""):
            raise RnnTuiError(f"{source.name} is one generated series; features and a date column need a CSV/TSV file")
        values = torch.tensor(b.generate(), dtype=torch.float32)
        return Series(name=b.name, values=values)
    assert source.path is not None
    return read_series(source.path, column=column, encoding=encoding, date_column=date_column, features=features,
                       guess_dates=guess_dates)


def load_labeled(
    source: Source, encoding: str = "utf-8", label_column: str = LABEL_COLUMN, text_column: str = TEXT_COLUMN
) -> LabeledFile:
    """The texts and labels of a labels source (``labeled.read_labeled``). A pairs or series file
    is read as labels too, so that its reader says what is missing (say a misspelt column name)."""
    b = _builtin_of(source)
    if source.kind not in ("pairs", "series") or b is not None:
        _require(source, "labels")
    if b is not None:
        examples = cast("list[tuple[str, str]]", b.generate())
        return LabeledFile(texts=[text for text, _ in examples], labels=[label for _, label in examples],
                           layout="generated")
    assert source.path is not None
    return read_labeled(source.path, encoding, label_column, text_column)


def list_datasets() -> list[dict]:
    """Builtins, then downloadable corpora: spec, kind, description, downloaded."""
    rows = [
        {"spec": BUILTIN_PREFIX + b.name, "kind": b.kind, "description": b.description,
         "downloaded": True}
        for b in builtin.BUILTINS.values()
    ]
    rows += [
        {"spec": r.name, "kind": r.kind, "description": r.description,
         "downloaded": download.cached_path(r.name) is not None}
        for r in download.CORPORA.values()
    ]
    return rows
