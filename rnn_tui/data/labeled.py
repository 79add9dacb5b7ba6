"""Labeled texts for classification: read a table or a folder of class folders, split it.

What ``read_labeled`` reads:

- a TSV or CSV file whose first row names its columns: the label and text columns are found by
  name (``label`` / ``text`` by default, in any case); other columns are ignored. Naming other
  columns (``--label-column`` / ``--text-column``) says the file has such a header row, and a CSV
  file always needs one.
- a headerless TSV, ``label<TAB>text`` or ``text<TAB>label`` per line. The label column is the
  one whose values repeat: fewer distinct values than the other column, and at most half as many
  as there are rows (``label_side``); a file where neither column does is refused.
- a folder with one sub-folder per class holding ``.txt`` files (the aclImdb layout:
  ``pos/*.txt``, ``neg/*.txt``): each file is one text, its class the sub-folder it is under.

TSV cells are taken as written (a quote is just a character; a TAB always ends a cell); CSV
cells follow the usual quoting (``"a, b"``, ``""`` for a quote inside quotes). Labels and texts
are stripped of surrounding whitespace and otherwise kept as written. A row with another number
of cells than the header (two without one), an empty label or text, or broken CSV quoting is
skipped and counted; a blank line is ignored. A BOM is dropped.

``split_labeled`` makes the stratified, seeded train / val / test split. No torch here.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rnn_tui.data.datafile import check_size, decode_bytes, read_data_file, read_file, text_files
from rnn_tui.errors import RnnTuiError

LABEL_COLUMN, TEXT_COLUMN = "label", "text"
SPLIT_SEED = 0  # the split depends on the data only, never on a run's seed (as for sentence pairs)
FIRST_SKIPPED = 5  # how many line numbers of skipped rows are kept

Row = tuple[int, list[str] | None]  # (1-based line where the row starts, its cells; None: broken CSV quoting)


@dataclass
class LabeledFile:
    """Texts and their labels (``labels[i]`` is the class of ``texts[i]``), and what was skipped."""

    texts: list[str]
    labels: list[str]
    skipped: int = 0  # malformed rows (a folder: empty files)
    first_skipped: list[int] = field(default_factory=list)  # up to 5 line numbers, 1-based (none for a folder)
    layout: str = ""  # how the examples were found: "TSV with a header", "label<TAB>text", "class folders", ...

    def class_counts(self) -> list[tuple[str, int]]:
        """Each class and its number of texts, the most frequent first (ties by name)."""
        return sorted(Counter(self.labels).items(), key=lambda item: (-item[1], item[0]))


# -- tables ----------------------------------------------------------------------------------------


def _rows(text: str, delimiter: str, where: str | Path) -> Iterator[Row]:
    """The non-blank rows of a table: a TSV split at every TAB, a CSV read with its quoting."""
    if delimiter == "\t":
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                yield number, line.split("\t")
        return
    reader = csv.reader(io.StringIO(text), strict=True)
    start = 1
    while True:
        try:
            cells: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field limit" in str(exc) or "end of data" in str(exc):
                raise RnnTuiError(f"{where} line {start}: a quote opened there never closes (or a cell is longer than "
                                  f"{csv.field_size_limit():,} characters); fix the file's quoting") from None
            cells = None  # e.g. text after a closing quote: this row only
        if cells is None or any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _index(header: Sequence[str], name: str) -> int | None:
    """The position of the column called ``name`` (in any case) in a header row, or None."""
    names = [cell.strip().casefold() for cell in header]
    wanted = name.strip().casefold()
    return names.index(wanted) if wanted in names else None


def _two_cells(rows: Sequence[list[str] | None]) -> list[list[str]]:
    return [cells for cells in rows if cells is not None and len(cells) == 2 and cells[0].strip() and cells[1].strip()]


def _distinct(pairs: list[list[str]]) -> list[int]:
    """How many distinct values each of the two columns has."""
    return [len({cells[k].strip() for cells in pairs}) for k in (0, 1)]


def label_side(rows: Sequence[list[str] | None]) -> int | None:
    """Which cell of a headerless TSV's rows holds the label, 0 or 1, or None when it cannot be
    told. The label column is the one whose values repeat: it has fewer distinct values than the
    other column, and at most half as many as there are rows. Only rows of two non-empty cells
    count, and they must be at least half of the rows (else it is no label/text table)."""
    pairs = _two_cells(rows)
    if not pairs or 2 * len(pairs) < len(rows):
        return None
    distinct = _distinct(pairs)
    side = 0 if distinct[0] <= distinct[1] else 1
    return side if distinct[side] < distinct[1 - side] and 2 * distinct[side] <= len(pairs) else None


def _headerless_error(path: Path, rows: Sequence[list[str] | None]) -> RnnTuiError:
    pairs = _two_cells(rows)
    hint = f"add a header row naming the columns ({LABEL_COLUMN}<TAB>{TEXT_COLUMN})"
    if 2 * len(pairs) < len(rows):
        return RnnTuiError(f"{path}: {len(rows) - len(pairs):,} of {len(rows):,} lines are not two TAB-separated cells "
                           f"and the first row names no {LABEL_COLUMN!r} column; expected label<TAB>text lines, or {hint}")
    distinct = _distinct(pairs)
    return RnnTuiError(f"{path}: cannot tell which column holds the labels (no header row; the columns have "
                       f"{distinct[0]:,} and {distinct[1]:,} distinct values in {len(pairs):,} rows, and labels repeat); {hint}")


def sniff_labels(head: str, delimiter: str, label_column: str = LABEL_COLUMN, text_column: str = TEXT_COLUMN) -> bool:
    """Whether a table that starts with ``head`` (whole lines) holds labeled texts: its first row
    names the label or the text column, or it is a TSV whose rows pass ``label_side``."""
    rows = _rows(head, delimiter, "the file")
    try:
        _, first = next(rows)
    except (StopIteration, RnnTuiError):
        return False
    if first is not None and (_index(first, label_column) is not None or _index(first, text_column) is not None):
        return True
    return delimiter == "\t" and label_side([first, *(cells for _, cells in rows)]) is not None


def _show_header(header: Sequence[str]) -> str:
    if not header:
        return "none readable"
    shown = ", ".join(repr(cell.strip()[:30]) for cell in header[:8])
    return shown + (f" and {len(header) - 8} more" if len(header) > 8 else "")


def read_labeled(
    path: str | Path, encoding: str = "utf-8", label_column: str = LABEL_COLUMN, text_column: str = TEXT_COLUMN
) -> LabeledFile:
    """The labeled texts of a TSV or CSV file, or of a folder of class folders (module docstring)."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, encoding)
    csv_file = path.suffix.lower() == ".csv"
    rows = list(_rows(read_file(path, encoding), "," if csv_file else "\t", path))
    if not rows:
        raise RnnTuiError(f"{path} has no rows with text: nothing to classify")
    header = rows[0][1] or []
    at_label, at_text = _index(header, label_column), _index(header, text_column)
    named = (label_column, text_column) != (LABEL_COLUMN, TEXT_COLUMN)
    if at_label is not None or at_text is not None or named or csv_file:
        for name, at in ((label_column, at_label), (text_column, at_text)):
            if at is None:
                raise RnnTuiError(f"{path} has no column {name!r} in its first row (columns: {_show_header(header)}); "
                                  "name the label and text columns with --label-column / --text-column")
        if at_label == at_text:
            raise RnnTuiError(f"the label and the text column are both {label_column!r}; name two different columns")
        layout, body, width = f"{'CSV' if csv_file else 'TSV'} with a header", rows[1:], len(header)
    else:
        side = label_side([cells for _, cells in rows])
        if side is None:
            raise _headerless_error(path, [cells for _, cells in rows])
        layout, body, width = ("label<TAB>text", "text<TAB>label")[side], rows, 2
        at_label, at_text = side, 1 - side
    assert at_label is not None and at_text is not None
    result = LabeledFile(texts=[], labels=[], layout=layout)
    for number, cells in body:
        label, text = (cells[at_label].strip(), cells[at_text].strip()) if cells and len(cells) == width else ("", "")
        if label and text:
            result.labels.append(label)
            result.texts.append(text)
        else:
            result.skipped += 1
            if len(result.first_skipped) < FIRST_SKIPPED:
                result.first_skipped.append(number)
    if not result.texts:
        raise RnnTuiError(f"{path} has no labeled texts ({result.skipped:,} malformed rows skipped); "
                          "expected a label and a non-empty text on each row")
    return result


# -- folders of class folders ----------------------------------------------------------------------


def folder_classes(folder: Path, files: Sequence[Path]) -> list[str] | None:
    """The class of each of ``files`` (the ``.txt`` files under ``folder``): the name of the
    sub-folder it is under. None when ``folder`` is not a folder of class folders: a ``.txt`` file
    at its top level, or fewer than two sub-folders holding them (then it is a folder of text)."""
    classes = []
    for path in files:
        parts = path.relative_to(folder).parts
        if len(parts) < 2:
            return None
        classes.append(parts[0].strip() or parts[0])
    return classes if len(set(classes)) >= 2 else None


def _read_folder(folder: Path, encoding: str) -> LabeledFile:
    files = text_files(folder)
    classes = folder_classes(folder, files)
    if classes is None:
        raise RnnTuiError(f"{folder} is not a folder of class folders: expected one sub-folder per class holding .txt files "
                          "(pos/*.txt, neg/*.txt) and no .txt file of its own")
    result = LabeledFile(texts=[], labels=[], layout="class folders")
    total = 0
    for path, label in zip(files, classes):
        data = read_data_file(path)
        total += len(data)
        check_size(total, f"folder {folder}")
        text = decode_bytes(path, data, encoding).strip()
        if text:
            result.texts.append(text)
            result.labels.append(label)
        else:
            result.skipped += 1
    if not result.texts:
        raise RnnTuiError(f"{folder} has only empty .txt files: nothing to classify")
    return result


# -- the split -------------------------------------------------------------------------------------


Example = tuple[str, str]  # (text, label)


@dataclass
class LabeledSplit:
    """Train / val / test examples; ``duplicates_removed`` counts the val and test examples
    dropped because their text is also in an earlier split (train, then val)."""

    train: list[Example]
    val: list[Example]
    test: list[Example]
    duplicates_removed: int = 0


def _apportion(total: int, sizes: dict[str, int]) -> dict[str, int]:
    """``total`` shared out over the classes in proportion to their ``sizes``, exactly: each class
    gets the whole part of its share, and the largest remainders one more (ties by name)."""
    whole = sum(sizes.values())
    shares = {name: total * n // whole for name, n in sizes.items()}
    left = total - sum(shares.values())
    for name in sorted(sizes, key=lambda name: (-(total * sizes[name] % whole), name))[:left]:
        shares[name] += 1
    return shares


def _unseen(part: list[Example], seen: set[str]) -> list[Example]:
    return [example for example in part if example[0] not in seen]


def split_labeled(
    texts: Sequence[str], labels: Sequence[str], val_fraction: float = 0.1, test_size: int = 0, seed: int = SPLIT_SEED
) -> LabeledSplit:
    """A stratified split: ``test_size`` examples held out (0: none), then ``val_fraction`` of the
    rest (rounded down) for validation, each shared over the classes in proportion to their sizes.
    Each class's examples are shuffled with ``seed`` (the classes in name order), so the same
    data gives the same split. A val or test example whose text is also in train (a test one: or
    in val) is dropped and counted; duplicates within a split stay."""
    if not 0 <= val_fraction < 1:
        raise RnnTuiError(f"val fraction {val_fraction} must be in [0, 1); lower it")
    if not 0 <= test_size < len(texts):
        raise RnnTuiError(f"--test-size {test_size} must be at least 0 and leave examples to train on ({len(texts):,} in all)")
    by_class: dict[str, list[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        by_class.setdefault(label, []).append(text)
    rng = random.Random(seed)
    for name in sorted(by_class):
        rng.shuffle(by_class[name])
    sizes = {name: len(members) for name, members in by_class.items()}
    n_test = _apportion(test_size, sizes)
    n_val = _apportion(int((len(texts) - test_size) * val_fraction), {name: sizes[name] - n_test[name] for name in sizes})
    train: list[Example] = []
    val: list[Example] = []
    test: list[Example] = []
    for name in sorted(by_class):
        members, t, v = by_class[name], n_test[name], n_val[name]
        test += [(text, name) for text in members[:t]]
        val += [(text, name) for text in members[t:t + v]]
        train += [(text, name) for text in members[t + v:]]
    for part in (train, val, test):
        rng.shuffle(part)  # the classes mixed
    seen = {text for text, _ in train}
    kept_val = _unseen(val, seen)
    kept_test = _unseen(test, seen | {text for text, _ in kept_val})
    removed = len(val) - len(kept_val) + len(test) - len(kept_test)
    return LabeledSplit(train=train, val=kept_val, test=kept_test, duplicates_removed=removed)
