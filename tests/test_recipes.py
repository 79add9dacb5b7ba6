"""Recipes (rnn_tui/recipes/*.toml) and `rnn-tui recipe list|show|run`."""

from pathlib import Path

import pytest

from rnn_tui import recipes
from rnn_tui.cli import cli
from rnn_tui.config import Config
from rnn_tui.data import download
from rnn_tui.data.builtin import BUILTINS
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.rundir import RunDir
from tests.test_cli import run_cli

HELLO = recipes.FOLDER / "hello.toml"


def one_line_error(code: int, err: str, *parts: str) -> str:
    lines = err.splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("rnn-tui: error: "), err
    assert all(part in lines[0] for part in parts), lines[0]
    return lines[0]


def test_every_shipped_recipe_loads_and_its_settings_validate():
    shipped = recipes.shipped()
    names = [r.name for r in shipped]
    assert len(names) == len(set(names)) and [r.path.stem for r in shipped] == names
    for must in ("hello", "shakespeare", "lyrics", "timemachine-gru", "numbers", "phrases", "cmn", "sentiment", "airline",
                 "vanishing-gradients", "brackets-units", "stdlib-units", "arena"):
        assert must in names
    for r in shipped:
        if r.data.startswith("builtin:"):
            assert r.data.removeprefix("builtin:") in BUILTINS, r.name
        else:
            assert r.data in (*download.CORPORA, recipes.USER_FILE, ""), r.name
        assert r.seconds > 0 and r.title and r.reproduces and r.expected.see and r.expected.measured
        for args in r.commands("RUN"):
            assert args[0] in cli.commands, (r.name, args)  # every command line names a real command
        if r.trains:
            cfg = r.config("some-file.txt")
            assert isinstance(cfg, Config) and cfg.data.spec == "some-file.txt"
            assert r.expected.metric in recipes.METRICS  # what `recipe run` reads off the run
            if any("--split" in args and args[args.index("--split") + 1] == "test" for args in r.then):
                assert cfg.data.test_size > 0, r.name  # scoring the held-out texts needs some held out


def test_a_typo_in_a_recipe_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(HELLO.read_text(encoding="utf-8").replace("hidden = 16", "hiden = 16"), encoding="utf-8")
    with pytest.raises(RnnTuiError, match=r"recipe hello \(.*bad.toml\): .*unknown key \[model\] hiden"):
        recipes.load(bad)
    bad.write_text(HELLO.read_text(encoding="utf-8").replace('cell = "rnn"', 'cell = "rnm"'), encoding="utf-8")
    with pytest.raises(RnnTuiError, match="cell must be one of rnn, rnn-relu, gru, lstm, peephole-lstm; got 'rnm'"):
        recipes.load(bad)
    bad.write_text(HELLO.read_text(encoding="utf-8").replace("at_most", "at_mots"), encoding="utf-8")
    with pytest.raises(RnnTuiError, match=r"unknown key \[expected\] at_mots"):
        recipes.load(bad)


def test_list_and_show(monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "recipe", "list")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    assert set(rows) == {r.name for r in recipes.shipped()}
    assert "lm" in rows["hello"] and "val_loss ≤ 0.05" in rows["hello"] and "10 min" in rows["shakespeare"]
    code, out, _ = run_cli(monkeypatch, capsys, "recipe", "show", "numbers")
    assert code == 0
    assert ("rnn-tui train --task seq2seq --data builtin:numbers-en-zh --test-size 500 --cell gru --hidden 96 --embed 32 "
            "--attention additive --steps 300 --batch 64 --lr 0.005 --name RUN") in out
    assert "rnn-tui translate RUN --split test --beam 5" in out
    code, out, _ = run_cli(monkeypatch, capsys, "recipe", "show", "hello", "--toml")
    assert code == 0 and out == HELLO.read_text(encoding="utf-8")


def test_run_hello_trains_for_real_and_reports_the_result(tmp_path, monkeypatch, capsys):
    """An edited copy of the recipe (a smaller budget) runs as `rnn-tui train` with its settings."""
    mine = tmp_path / "mine.toml"
    mine.write_text(HELLO.read_text(encoding="utf-8").replace("steps = 300", "steps = 40"), encoding="utf-8")
    code, out, err = run_cli(monkeypatch, capsys, "recipe", "run", mine, "--threads", "1", "--name", "h",
                             "--runs-dir", tmp_path / "runs")
    assert code == 0, err
    assert "$ rnn-tui train --task lm --data builtin:hello --cell rnn --hidden 16 --embed 0 " in err
    run = RunDir.open("h", tmp_path / "runs")
    cfg = run.config()
    assert (cfg.model.cell, cfg.model.hidden, cfg.model.embed, cfg.train.steps, cfg.train.threads) == ("rnn", 16, 0, 40, 1)
    best = min(r["val_loss"] for r in run.read_metrics() if r["event"] == "val")
    assert f"recipe hello: val_loss {best:.4g}, expected val_loss ≤ 0.05" in out
    assert ("✓ as expected" if best <= 0.05 else "✗ not met") in out
    assert "you should see from h, e, l, l" in out


def test_recipes_without_their_data_say_what_is_missing_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNN_TUI_CACHE", str(tmp_path / "empty-cache"))
    code, _, err = run_cli(monkeypatch, capsys, "recipe", "run", "lyrics", "--runs-dir", tmp_path / "runs")
    one_line_error(code, err, "your own file", "rnn-tui recipe run lyrics --data FILE")
    code, _, err = run_cli(monkeypatch, capsys, "recipe", "run", "shakespeare", "--runs-dir", tmp_path / "runs")
    one_line_error(code, err, "tinyshakespeare corpus", "rnn-tui data get tinyshakespeare", "--data FILE")
    code, _, err = run_cli(monkeypatch, capsys, "recipe", "run", "nope")
    one_line_error(code, err, "no recipe 'nope'", "hello")
    code, _, err = run_cli(monkeypatch, capsys, "recipe", "run", "vanishing-gradients", "--steps", "5")
    one_line_error(code, err, "--steps is a training's budget")
    assert not Path(tmp_path / "runs").exists()  # nothing started


def test_a_given_file_goes_to_the_training(tmp_path, monkeypatch, capsys):
    """--data FILE replaces the recipe's data; a file that is not there is train's own one line."""
    code, _, err = run_cli(monkeypatch, capsys, "recipe", "run", "lyrics", "--data", tmp_path / "missing.txt",
                           "--runs-dir", tmp_path / "runs")
    assert code == 1 and err.splitlines()[-1].startswith("rnn-tui: error: no such file or dataset")
    assert "--data " + str(tmp_path / "missing.txt") in err.splitlines()[0]  # the command line it ran
