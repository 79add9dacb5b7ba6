"""One declaration per setting: the flags, the app's fields and the checks all come from it."""

import json
import subprocess
import sys
import textwrap

import click
import pytest

from rnn_tui.cli import cli
from rnn_tui.config import CELL_NAMES, Config
from rnn_tui.decode.settings import Beam, Sampling
from rnn_tui.options import SettingError, declared


def test_every_setting_has_one_flag_a_valid_default_and_words():
    cfg = Config().validate()  # every default passes its own declaration
    flags = [d.flag for d in declared(Config)] + [d.flag for _, d in cfg.settings()]
    assert len(flags) == len(set(flags)) == 80
    for _, d in cfg.settings():
        assert d.setting.help.endswith((".", ")")) and d.label and "--" not in d.label
        assert not d.setting.choices or d.default in d.setting.choices


def test_train_flags_are_exactly_the_declared_settings():
    train = cli.commands["train"]
    flags = {opt.lstrip("-") for p in train.params if isinstance(p, click.Option) for opt in p.opts}
    declared_flags = {d.flag for d in declared(Config)} | {d.flag for _, d in Config().settings()}
    assert flags - declared_flags == {"config", "runs-dir", "name", "resume", "json"}
    assert declared_flags <= flags


def test_cells_are_one_list():
    from rnn_tui.models.cells import CELLS

    assert tuple(CELLS) == CELL_NAMES


@pytest.mark.parametrize("where,value,message", [
    ("train.lr", -1.0, "learning rate must be between 1e-08 and 100; got -1"),
    ("train.lr", float("nan"), "learning rate must be a finite number; got nan"),
    ("train.gamma", 0.0, "decay factor must be above 0 and at most 1; got 0"),
    ("model.cell", "tcn", "cell must be one of rnn, rnn-relu, gru, lstm, peephole-lstm; got 'tcn'"),
    ("data.val_fraction", 0.7, "validation fraction must be between 0 and 0.5; got 0.7"),
    ("train.steps", -5, "step budget must be between 0 and 1e+12; got -5"),
])
def test_a_refused_setting_is_named_in_words(where, value, message):
    with pytest.raises(SettingError) as caught:
        Config().assign({where: value}).validate()
    assert str(caught.value) == message and caught.value.name == where.split(".")[1]


def test_cross_setting_rules():
    cfg = Config(task="seq2seq").assign({"model.cell": "peephole-lstm"})
    with pytest.raises(SettingError, match="a translation model's cell must be one of rnn, gru, lstm"):
        cfg.validate()
    with pytest.raises(SettingError, match="tied weights need the embedding size equal to the hidden units"):
        Config().assign({"model.tie_weights": True, "model.embed": 32}).validate()


@pytest.mark.parametrize("build,message", [
    (lambda: Sampling(temperature=0.0), "temperature must be above 0 and at most 100; got 0"),
    (lambda: Sampling(top_p=0.0), "top-p must be above 0 and at most 1; got 0"),
    (lambda: Sampling(top_k=-1), "top-k must be between 0 and 1e+09; got -1"),
    (lambda: Sampling(length=0), "length must be between 1 and 1e+06; got 0"),
    (lambda: Beam(width=0), "beam width must be between 1 and 64; got 0"),
    (lambda: Beam(width=2, nbest=3), "n-best must be at most the beam width (2); got 3"),
    (lambda: Beam(alpha=float("nan")), "α must be a finite number; got nan"),
])
def test_decoding_values_check_themselves_where_they_are_built(build, message):
    with pytest.raises(SettingError) as caught:
        build()
    assert str(caught.value) == message
    assert Sampling(seed=None).seed is None and Beam(width=5, nbest=5).nbest == 5


MADE_UP = """
import asyncio, json, re, sys, types
from pathlib import Path

import rnn_tui

# the one place: a new field on TrainConfig, declared like the others
path = Path(rnn_tui.__file__).parent / "config.py"
line = '    made_up: int = setting(3, "A made-up knob for this test.", label="made-up knob", lo=1, hi=5)\\n'
source = path.read_text(encoding="utf-8").replace("class TrainConfig:\\n", "class TrainConfig:\\n" + line, 1)
module = types.ModuleType("rnn_tui.config")
module.__file__ = str(path)
sys.modules["rnn_tui.config"] = module
exec(compile(source, str(path), "exec"), module.__dict__)

from click.testing import CliRunner
from rnn_tui.cli import cli, main
from rnn_tui.config import Config

out = {}
out["help"] = " ".join(CliRunner().invoke(cli, ["train", "--help"]).output.split())
sys.argv = ["rnn-tui", "train", "--made-up", "9", "--runs-dir", sys.argv[1]]
try:
    main()
except SystemExit as exc:
    out["exit"] = exc.code
out["valid"] = Config().assign({"train.made_up": 4}).validate().train.made_up
out["resume"] = CliRunner().invoke(cli, ["train", "--resume", "x", "--made-up", "4"], standalone_mode=False).exception.message

async def form():
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.panes.train import TrainPane

    app = RnnTuiApp(Path(sys.argv[1]))
    async with app.run_test(size=(100, 40)) as pilot:
        for _ in range(200):  # "More settings" are mounted just after the first frame
            if app.query("#set-train-made_up"):
                break
            await pilot.pause(0.05)
        field = app.query_one("#set-train-made_up")
        out["form_initial"] = field.value
        out["in_more"] = field in app.query_one("#train-more").query("*")
        field.value = "9"
        app.query_one(TrainPane).action_start()
        await pilot.pause()
        out["form_error"] = str(app.query_one("#form-error").render())
        out["opened"] = not app.query_one("#train-more").collapsed
        field.value = "4"
        out["form_value"] = app.query_one(TrainPane).read_config().train.made_up

asyncio.run(form())
print(json.dumps(out))
"""


def test_a_made_up_setting_declared_once_appears_everywhere(tmp_path):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(MADE_UP), str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "--made-up INTEGER A made-up knob for this test. [default: 3]" in out["help"]
    assert out["exit"] == 1
    assert "rnn-tui: error: made-up knob must be between 1 and 5; got 9 (--made-up)" in proc.stderr
    assert not (tmp_path / "runs").exists()  # refused before a run directory is made
    assert out["valid"] == 4
    assert out["resume"].startswith("--resume cannot change --made-up")
    assert out["form_initial"] == "3" and out["in_more"]
    assert out["form_error"] == "made-up knob must be between 1 and 5; got 9" and out["opened"]
    assert out["form_value"] == 4
