"""Labeled texts for classification: the formats read_labeled takes, the stratified split, the
description `data show` prints, and `data show` itself through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from rnn_tui.data.labeled import LabeledFile, label_side, read_labeled, split_labeled
from rnn_tui.data.spec import holds_text, load_labeled, load_text, resolve
from rnn_tui.data.stats import describe_labels
from rnn_tui.errors import RnnTuiError


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _examples(lf: LabeledFile) -> list[tuple[str, str]]:
    assert len(lf.texts) == len(lf.labels)
    return list(zip(lf.labels, lf.texts))


# -- tables ----------------------------------------------------------------------------------------


def test_a_tsv_with_a_header_finds_its_columns_by_name(tmp_path):
    path = _write(tmp_path, "r.tsv", "id\tText\tLABEL\n1\tgreat film\tpos\n2\t  dull  \tneg \n\n3\tfine\tpos\n")
    lf = read_labeled(path)
    assert _examples(lf) == [("pos", "great film"), ("neg", "dull"), ("pos", "fine")]
    assert (lf.skipped, lf.first_skipped, lf.layout) == (0, [], "TSV with a header")
    assert lf.class_counts() == [("pos", 2), ("neg", 1)]


def test_named_columns(tmp_path):
    path = _write(tmp_path, "r.csv", "sentiment,review,stars\nbad,\"awful, really\",1\ngood,lovely,5\n")
    lf = read_labeled(path, label_column="sentiment", text_column="review")
    assert _examples(lf) == [("bad", "awful, really"), ("good", "lovely")]
    lf = read_labeled(path, label_column="stars", text_column="review")
    assert lf.labels == ["1", "5"]


@pytest.mark.parametrize("content, label_column, text_column, missing", [
    ("label,body\npos,nice\n", "label", "text", "'text'"),  # a CSV needs both names
    ("label\tbody\npos\tnice\n", "label", "text", "'text'"),  # the first row names one of them: a header
    ("sentiment\treview\npos\tnice\n", "sentimnt", "review", "'sentimnt'"),  # a misspelt name
    ("a,b\nx,y\nx,z\n", "label", "text", "'label'"),  # a CSV without a header row
])
def test_a_missing_column_is_one_line_naming_the_columns_found(tmp_path, content, label_column, text_column, missing):
    path = _write(tmp_path, "t.csv" if "," in content else "t.tsv", content)
    with pytest.raises(RnnTuiError) as excinfo:
        read_labeled(path, label_column=label_column, text_column=text_column)
    message = _one_line(excinfo)
    header = content.split("\n")[0].replace("\t", ",").split(",")
    assert f"has no column {missing} in its first row" in message
    assert all(repr(name) in message for name in header) and "--label-column" in message


def test_csv_quoting(tmp_path):
    content = ('label,text\n'
               'pos,"a comma, inside"\n'
               'neg,"a ""quoted"" word"\n'
               'pos,"two\nlines"\n'
               'neg,"text after" the quote\n'  # broken quoting: this row only is skipped
               'neg,plain\n')
    lf = read_labeled(_write(tmp_path, "q.csv", content))
    assert _examples(lf) == [("pos", "a comma, inside"), ("neg", 'a "quoted" word'), ("pos", "two\nlines"),
                             ("neg", "plain")]
    assert (lf.skipped, lf.first_skipped, lf.layout) == (1, [6], "CSV with a header")


def test_an_unclosed_csv_quote_is_one_line_with_where_it_opens(tmp_path):
    path = _write(tmp_path, "u.csv", 'label,text\npos,fine\nneg,"never closed\npos,swallowed\n')
    with pytest.raises(RnnTuiError) as excinfo:
        read_labeled(path)
    assert _one_line(excinfo).startswith(f"{path} line 3: a quote opened there never closes")


def test_tsv_cells_are_taken_as_written(tmp_path):
    """sentiment-zh.tsv has texts that start with a quote never closed: a TSV has no quoting, so
    neither the quotes nor the lines after them are lost."""
    content = 'label\ttext\npos\t"此期间预订，入住首日 “\nneg\t"PC卡插槽"为什么我找不到\npos\t好\n'
    lf = read_labeled(_write(tmp_path, "zh.tsv", content))
    assert lf.texts == ['"此期间预订，入住首日 “', '"PC卡插槽"为什么我找不到', "好"]


def test_a_bom_and_crlf_are_dropped(tmp_path):
    path = _write(tmp_path, "bom.tsv", "\ufefflabel\tbody\r\npos\tyes\r\nneg\tno\r\n")
    assert _examples(read_labeled(path, text_column="body")) == [("pos", "yes"), ("neg", "no")]
    assert resolve(str(path)).kind == "labels"  # the first row names "label" (after the BOM)
    path = _write(tmp_path, "bom.csv", "\ufefflabel,text\r\npos,yes\r\n")
    assert _examples(read_labeled(path)) == [("pos", "yes")] and resolve(str(path)).kind == "labels"


def test_malformed_rows_are_skipped_and_counted(tmp_path):
    lines = ["label\ttext", "pos\tgood", "pos", "\tno label", "neg\t   ", "", "neg\tbad", "pos\ta\textra cell", "neg\tworse"]
    lf = read_labeled(_write(tmp_path, "m.tsv", "\n".join(lines)))
    assert _examples(lf) == [("pos", "good"), ("neg", "bad"), ("neg", "worse")]
    assert lf.skipped == 4 and lf.first_skipped == [3, 4, 5, 8]  # the blank line 6 is not malformed
    many = "label\ttext\n" + "x\n" * 9 + "pos\tok\n"
    lf = read_labeled(_write(tmp_path, "many.tsv", many))
    assert lf.skipped == 9 and lf.first_skipped == [2, 3, 4, 5, 6]


def test_class_names_are_kept_as_written(tmp_path):
    rows = [" Positive ", "positive", "4 stars", "中性", "N/A", "Positive"]
    content = "label\ttext\n" + "".join(f"{label}\ttext {i}\n" for i, label in enumerate(rows))
    lf = read_labeled(_write(tmp_path, "c.tsv", content))
    assert lf.labels == ["Positive", "positive", "4 stars", "中性", "N/A", "Positive"]
    assert lf.class_counts()[0] == ("Positive", 2)


@pytest.mark.parametrize("order", ["label first", "text first"])
def test_a_headerless_tsv_takes_the_repeating_column_as_the_label(tmp_path, order):
    examples = [("pos", "good"), ("neg", "bad"), ("pos", "fine"), ("neg", "awful"), ("pos", "nice")]
    rows = [f"{label}\t{text}" if order == "label first" else f"{text}\t{label}" for label, text in examples]
    lf = read_labeled(_write(tmp_path, "h.txt", "\n".join(rows) + "\n"))
    assert _examples(lf) == examples
    assert lf.layout == ("label<TAB>text" if order == "label first" else "text<TAB>label")


def test_the_headerless_rule():
    assert label_side([["a", "x"], ["a", "y"], ["b", "z"], ["b", "w"]]) == 0  # 2 distinct values in 4 rows, against 4
    assert label_side([["x", "a"], ["y", "a"]]) == 1
    assert label_side([["a", "x"], ["b", "y"]]) is None  # nothing repeats: sentence pairs, say
    assert label_side([["a", "x"], ["b", "y"], ["c", "y"]]) is None  # 2 distinct values: more than half of 3 rows
    assert label_side([["a", "x"], ["a", "y"], ["b", "x"], ["b", "y"]]) is None  # as many in each: cannot tell
    assert label_side([["a", "x", "1"], ["a", "y", "2"], ["a", "z"]]) is None  # most rows are not two cells
    assert label_side([["a", "x"], ["a", "y"], None]) == 0


def test_a_headerless_tsv_that_cannot_be_told_is_one_line(tmp_path):
    path = _write(tmp_path, "p.tsv", "Hi.\t嗨。\nRun.\t跑。\n")
    with pytest.raises(RnnTuiError) as excinfo:
        read_labeled(path)
    assert "cannot tell which column holds the labels" in _one_line(excinfo) and "header row" in str(excinfo.value)
    path = _write(tmp_path, "p3.tsv", "Hi.\t嗨。\tCC-BY\nRun.\t跑。\tCC-BY\n")
    with pytest.raises(RnnTuiError) as excinfo:
        read_labeled(path)
    assert "2 of 2 lines are not two TAB-separated cells" in _one_line(excinfo)


@pytest.mark.parametrize("content, message", [
    ("label\ttext\n\tno label\n", "has no labeled texts (1 malformed rows skipped)"),
    ("  \n\n", "is empty"),
    (",,,\n", "has no rows with text"),
])
def test_files_with_nothing_to_classify(tmp_path, content, message):
    path = _write(tmp_path, "e.csv" if "," in content else "e.tsv", content)
    with pytest.raises(RnnTuiError) as excinfo:
        read_labeled(path)
    assert message in _one_line(excinfo)


def test_an_encoding_error_is_one_line(tmp_path):
    path = tmp_path / "gbk.tsv"
    path.write_bytes("label\ttext\n好\t很好\n".encode("gbk"))
    with pytest.raises(RnnTuiError) as excinfo:
        read_labeled(path)
    assert "not valid utf-8 at byte" in _one_line(excinfo)
    assert read_labeled(path, encoding="gbk").labels == ["好"]


# -- folders of class folders ----------------------------------------------------------------------


@pytest.fixture
def imdb(tmp_path):
    """The aclImdb layout: pos/*.txt, neg/*.txt (plus a file deeper down and an empty one)."""
    root = tmp_path / "imdb"
    for label, texts in (("pos", ["Loved it.", "A gem<br />of a film."]), ("neg", ["Dull.", "   ", "Too long."])):
        (root / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / label / f"{i}_7.txt").write_text(text, encoding="utf-8")
    (root / "neg" / "more").mkdir()
    (root / "neg" / "more" / "x.txt").write_text("Worse.\n", encoding="utf-8")
    (root / "neg" / "notes.md").write_text("not a text", encoding="utf-8")
    return root


def test_a_folder_of_class_folders(imdb):
    lf = read_labeled(imdb)
    assert sorted(_examples(lf)) == [("neg", "Dull."), ("neg", "Too long."), ("neg", "Worse."),
                                     ("pos", "A gem<br />of a film."), ("pos", "Loved it.")]
    assert (lf.skipped, lf.first_skipped, lf.layout) == (1, [], "class folders")  # the empty file
    source = resolve(str(imdb))
    assert source.kind == "labels" and source.description.startswith("folder of 2 classes, 6 .txt files")
    assert load_labeled(source).texts == lf.texts
    assert holds_text(source) and "Loved it." in load_text(source)  # a language model can still read it


def test_a_folder_with_texts_of_its_own_or_one_class_is_text(imdb):
    (imdb / "README.txt").write_text("about\n", encoding="utf-8")
    assert resolve(str(imdb)).kind == "text"
    with pytest.raises(RnnTuiError) as excinfo:
        read_labeled(imdb)
    assert "is not a folder of class folders" in _one_line(excinfo)
    assert resolve(str(imdb / "neg")).kind == "text"  # .txt files of its own


# -- the split -------------------------------------------------------------------------------------


def _data(counts: dict[str, int]) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, n in counts.items():
        texts += [f"{label} text {i}" for i in range(n)]
        labels += [label] * n
    return texts, labels


def test_the_split_is_stratified_and_exact():
    texts, labels = _data({"a": 600, "b": 300, "c": 100})
    split = split_labeled(texts, labels, val_fraction=0.1, test_size=100)
    assert (len(split.train), len(split.val), len(split.test), split.duplicates_removed) == (810, 90, 100, 0)
    assert Counter(label for _, label in split.test) == {"a": 60, "b": 30, "c": 10}
    assert Counter(label for _, label in split.val) == {"a": 54, "b": 27, "c": 9}
    assert Counter(label for _, label in split.train) == {"a": 486, "b": 243, "c": 81}
    everything = split.train + split.val + split.test
    assert sorted(everything) == sorted(zip(texts, labels))  # every example once, with its label
    assert [label for _, label in split.train[:30]] != sorted(label for _, label in split.train[:30])  # mixed


def test_the_split_shares_remainders_and_allows_no_test():
    texts, labels = _data({"a": 5, "b": 3, "c": 3})
    split = split_labeled(texts, labels, val_fraction=0.0, test_size=4)
    # shares 20/11, 12/11, 12/11: whole parts 1, 1, 1 and the largest remainder (a: 9/11) one more
    assert Counter(label for _, label in split.test) == {"a": 2, "b": 1, "c": 1} and split.val == []
    split = split_labeled(texts, labels, val_fraction=0.5, test_size=0)
    assert split.test == [] and len(split.val) == 5 and len(split.train) == 6


def test_the_split_is_deterministic_and_depends_on_the_data_only():
    texts, labels = _data({"pos": 200, "neg": 150})
    first = split_labeled(texts, labels, val_fraction=0.2, test_size=50)
    assert split_labeled(list(texts), list(labels), val_fraction=0.2, test_size=50) == first
    assert split_labeled(texts, labels, val_fraction=0.2, test_size=50, seed=1) != first


def test_duplicates_across_splits_are_removed_and_counted():
    texts, labels = _data({"pos": 40, "neg": 40})
    texts += ["same"] * 20 + ["twice"] * 2
    labels += ["pos"] * 10 + ["neg"] * 10 + ["pos"] * 2
    split = split_labeled(texts, labels, val_fraction=0.25, test_size=20)
    held_out = [text for text, _ in split.val + split.test]
    train = {text for text, _ in split.train}
    assert not train & set(held_out)
    assert not {text for text, _ in split.val} & {text for text, _ in split.test}
    assert split.train.count(("same", "pos")) + split.train.count(("same", "neg")) > 1  # duplicates in train stay
    kept = len(split.train) + len(split.val) + len(split.test)
    assert split.duplicates_removed == len(texts) - kept > 0
    unseen = sum(1 for t in texts if t not in ("same", "twice"))
    assert kept >= unseen  # only copies of a duplicated text are ever removed


@pytest.mark.parametrize("val_fraction, test_size, message", [
    (0.1, 10, "--test-size 10 must be at least 0 and leave examples to train on (10 in all)"),
    (0.1, -1, "--test-size -1 must be at least 0"),
    (1.0, 0, "val fraction 1.0 must be in [0, 1)"),
])
def test_bad_split_settings_are_one_line(val_fraction, test_size, message):
    texts, labels = _data({"a": 5, "b": 5})
    with pytest.raises(RnnTuiError) as excinfo:
        split_labeled(texts, labels, val_fraction=val_fraction, test_size=test_size)
    assert _one_line(excinfo).startswith(message)


# -- describe and data show ------------------------------------------------------------------------


def test_describe_labels():
    lf = LabeledFile(texts=["a b c", "d e", "f", "g h i j"], labels=["x", "y", "x", "x"], skipped=2, first_skipped=[3, 9],
                     layout="label<TAB>text")
    info = describe_labels(lf, tokenizer="word", samples_per_class=2)
    json.dumps(info)
    assert info["kind"] == "labels" and info["layout"] == "label<TAB>text"
    assert (info["examples"], info["classes"], info["majority_class"], info["majority_accuracy"]) == (4, 2, "x", 0.75)
    assert info["class_counts"] == [["x", 3, 0.75], ["y", 1, 0.25]]
    assert (info["skipped"], info["first_skipped"]) == (2, [3, 9])
    assert info["tokens"] == 10 and info["length"] == {"min": 1, "median": 2.5, "mean": 2.5, "max": 4}
    assert sum(info["length_histogram"]["counts"]) == 4
    assert info["samples"] == [["x", "a b c"], ["x", "f"], ["y", "d e"]]
    assert describe_labels(lf, tokenizer="char")["length"]["max"] == 7


def test_data_show_through_the_cli(tmp_path):
    path = _write(tmp_path, "reviews.csv", "stars,review\n5,\"great, truly\"\n1,awful\n5,good\n,no label\n")
    command = [sys.executable, "-m", "rnn_tui", "data", "show", str(path), "--label-column", "stars",
               "--text-column", "review", "--tokenizer", "word"]
    wide = {**os.environ, "COLUMNS": "200"}  # Rich wraps at 80 columns off a terminal
    shown = subprocess.run(command, capture_output=True, text=True, check=True, env=wide).stdout
    assert "reviews.csv — labels file" in shown and "CSV with a header" in shown
    assert "classes: 5 2 (66.7%)  1 1 (33.3%)" in shown
    assert "tokens per text (min 1, median 1, mean 1.67, max 3):" in shown and "│ 5 → great, truly" in shown
    info = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True, check=True).stdout)
    assert (info["kind"], info["examples"], info["skipped"], info["first_skipped"]) == ("labels", 3, 1, [5])
    command[command.index("stars")] = "star"
    bad = subprocess.run(command, capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr == (f"rnn-tui: error: {path} has no column 'star' in its first row (columns: "
                                                  "'stars', 'review'); name the label and text columns with --label-column / "
                                                  "--text-column\n")
