"""Fuzzing config.toml (hypothesis): random TOML documents, random bytes and the default config
with random values, through Config.load (plain and strict) and validate(). Every case ends in a
valid Config or one line of RnnTuiError (tests/fuzzing.py). Also: what an empty config does."""

from __future__ import annotations

import itertools
import math

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_tui.config import SECTIONS, Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.rundir import RunDir
from tests.fuzzing import examples, failed, mutated, outcome

FUZZ = settings(max_examples=examples(80), deadline=None)
_names = itertools.count()
_DEFAULT = Config().to_dict()
_KEYS = [name for section in SECTIONS for name in _DEFAULT[section]]

toml_scalars = st.one_of(st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(),
                         st.text(max_size=12), st.sampled_from(["lm", "seq2seq", "lstm", "gru", "adam", "builtin:hello"]))
toml_values = st.recursive(toml_scalars, lambda c: st.one_of(st.lists(c, max_size=3),
                                                             st.dictionaries(st.text(max_size=6), c, max_size=3)),
                           max_leaves=8)
toml_keys = st.one_of(st.sampled_from(["task", *SECTIONS, *_KEYS, "tie-weights", "seq-len"]), st.text(max_size=8))
toml_docs = st.dictionaries(toml_keys, st.one_of(toml_values, st.dictionaries(toml_keys, toml_values, max_size=6)),
                            max_size=5)


def _load(folder, data: bytes, strict: bool):
    path = folder / f"c{next(_names)}.toml"
    path.write_bytes(data)
    return outcome(lambda: Config.load(path, strict=strict).validate())


def _check(result) -> None:
    if not failed(result):
        assert isinstance(result, Config)
        for section, d in result.settings():  # every value of its declared type, finite
            value = getattr(getattr(result, section), d.name)
            assert isinstance(value, d.setting.kind) and not (isinstance(value, float) and not math.isfinite(value))


@FUZZ
@given(doc=toml_docs, strict=st.booleans())
def test_random_toml(tmp_path_factory, doc, strict):
    _check(_load(tmp_path_factory.getbasetemp(), tomli_w.dumps(doc).encode(), strict))


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)), strict=st.booleans())
def test_random_bytes(tmp_path_factory, data, strict):
    _check(_load(tmp_path_factory.getbasetemp(), data, strict))


@FUZZ
@given(doc=mutated(_DEFAULT), strict=st.booleans())
def test_the_default_config_mutated(tmp_path_factory, doc, strict):
    if not isinstance(doc, dict):
        doc = {"task": doc}
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError):  # None has no TOML form: not a file anyone can write
        return
    _check(_load(tmp_path_factory.getbasetemp(), text.encode(), strict))
    _check(outcome(lambda: Config.from_dict(doc).validate()))  # a checkpoint's config comes this way


# -- an empty config is refused, not read as the default -----------------------------------------


@pytest.mark.parametrize("text", ["", "  \n\t\n", "# only a comment\n"])
@pytest.mark.parametrize("strict", [False, True])
def test_an_empty_config_is_refused(tmp_path, text, strict):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RnnTuiError) as excinfo:
        Config.load(path, strict=strict)
    assert str(excinfo.value).startswith(f"{path} is empty (no settings); ")


def test_a_run_config_must_have_been_written_by_rnn_tui(tmp_path):
    run = RunDir.create(tmp_path, Config(), name="r")
    assert run.config() == Config()
    run.config_path.write_text('[model]\nhidden = 8\n', encoding="utf-8")  # a user's --config file may say only this
    assert Config.load(run.config_path).model.hidden == 8
    with pytest.raises(RnnTuiError, match=r"config.toml was not written by rnn-tui \(no 'task'\); the run's config is "
                                          "damaged"):
        run.config()
    run.config_path.write_text("", encoding="utf-8")
    with pytest.raises(RnnTuiError, match="is empty"):
        run.config()


@pytest.mark.parametrize("text, said", [
    ("model = 5", "[model] must be a table of settings, got 5"),
    ('task = 5', "task must be str, got 5"),
    ("[model]\nhidden = true", "[model] hidden must be int, got True"),
    ("[model]\nhidden = 1.5", "[model] hidden must be int, got 1.5"),
    ('[model]\nhidden = "64"', "[model] hidden must be int, got '64'"),
    ("[data]\nspec = 5", "[data] spec must be str, got 5"),
    ('[model]\n"hid\\nden" = 5', r"unknown key [model] hid\nden; "),
])
def test_a_value_of_the_wrong_type_is_one_line(tmp_path, text, said):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RnnTuiError) as excinfo:
        Config.load(path).validate()
    assert said in str(excinfo.value) and len(str(excinfo.value).splitlines()) == 1


def test_a_device_is_not_read_as_a_config(tmp_path):
    with pytest.raises(RnnTuiError, match="is not a config file"):
        Config.load("/dev/zero" if __import__("os").path.exists("/dev/zero") else tmp_path)
