"""Damaged checkpoints: the metadata JSON of a real tiny checkpoint (a language model's and a
translator's) mutated at random, and its safetensors header mutated (length prefix, JSON,
offsets, bytes), through load_checkpoint, the API (load_run, then score / translate) and
load_optimizer_state; every case ends in a usable model or one line of RnnTuiError. Then the
cases of issue 9 one by one, and the real CLI end to end (exit 1, one `rnn-tui: error:` line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rnn_tui.api import LoadedRun, load_run
from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.checkpoint import load_checkpoint, load_optimizer_state
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.optim import make_optimizer
from rnn_tui.train.trainer import train_run
from tests.conftest import set_safetensors_metadata, small_config
from tests.fuzzing import examples, failed, mutated, outcome

FUZZ = settings(max_examples=examples(40), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Trained:
    """A tiny trained run and the bytes of its latest checkpoint, to damage and put back."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.meta_path, self.weights_path = run.checkpoints / "latest.json", run.checkpoints / "latest.safetensors"
        self.meta_bytes, self.weights_bytes = self.meta_path.read_bytes(), self.weights_path.read_bytes()
        self.meta = json.loads(self.meta_bytes)
        n = int.from_bytes(self.weights_bytes[:8], "little")
        self.header, self.body = json.loads(self.weights_bytes[8 : 8 + n]), self.weights_bytes[8 + n :]

    def restore(self) -> None:
        self.meta_path.write_bytes(self.meta_bytes)
        self.weights_path.write_bytes(self.weights_bytes)

    def write_meta(self, doc: object) -> None:
        """Damage the metadata where it is read, in the weights file's header, and its copy, latest.json."""
        set_safetensors_metadata(self.weights_path, {**self.header["__metadata__"], "meta": json.dumps(doc)})
        self.meta_path.write_text(json.dumps(doc), encoding="utf-8")

    def use(self) -> None:
        """Load the checkpoint the ways the commands and the trainer do; a valid outcome must work."""
        ckpt = outcome(load_checkpoint, self.run.checkpoints, "latest")
        event(f"load_checkpoint: {'refused' if failed(ckpt) else 'loaded'}")
        if failed(ckpt):
            return
        loaded = outcome(load_run, self.run.path)
        event(f"load_run: {'refused' if failed(loaded) else 'loaded'}")
        if not failed(loaded):  # the model answers
            if isinstance(loaded, LoadedRun):
                assert isinstance(loaded.score("hello world")["nll"], float)
            else:
                assert loaded.translate("I have 3 cats .")["hypotheses"]
        if ckpt.optimizer is not None and not failed(loaded):  # what resuming does with it
            optimizer = make_optimizer(ckpt.config.train, loaded.model.parameters())
            outcome(load_optimizer_state, optimizer, ckpt.optimizer, "checkpoint")


def _train(kind: str, root) -> Trained:
    """A tiny run of ``kind`` (lm or seq2seq), 4 steps, checkpointed."""
    torch.set_num_threads(1)
    if kind == "lm":
        data = root / "text.txt"
        data.write_text("hello world, hello there.\n" * 40, encoding="utf-8")
        cfg = small_config(str(data), steps=4, checkpoint_interval=4, eval_interval=4, sample_interval=4, batch=4)
    else:
        data = root / "pairs.tsv"
        data.write_text("".join(f"I have {i} cats .\t我有{i}只猫。\n" for i in range(40)), encoding="utf-8")
        cfg = Config(task="seq2seq")
        cfg.data.spec, cfg.model.cell, cfg.model.hidden, cfg.model.embed = str(data), "gru", 16, 8
        t = cfg.train
        t.steps = t.checkpoint_interval = t.eval_interval = t.sample_interval = 4
        t.batch, t.threads, t.schedule = 4, 1, "plateau"
    train_run(RunDir.create(root, cfg.validate(), name="r"))
    return Trained(RunDir.open("r", root))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """kind -> its Trained run, each trained once for the module."""
    made: dict[str, Trained] = {}

    def get(kind: str) -> Trained:
        if kind not in made:
            made[kind] = _train(kind, tmp_path_factory.mktemp(f"ckpt-{kind}"))
        return made[kind]

    yield get
    for trained in made.values():
        trained.restore()


@pytest.fixture(scope="module", params=["lm", "seq2seq"])
def trained(request, runs) -> Trained:
    return runs(request.param)


@pytest.fixture(scope="module")
def lm(runs) -> Trained:
    return runs("lm")


@FUZZ
@given(meta=st.data())
def test_metadata_mutated(trained, meta):
    doc = meta.draw(mutated(trained.meta, rounds=3))
    try:
        trained.write_meta(doc)
        trained.use()
    finally:
        trained.restore()


@st.composite
def damaged_weights(draw: st.DrawFn, trained: Trained) -> bytes:
    """The safetensors file with its header JSON mutated (offsets, shapes, dtypes, metadata),
    its length prefix changed, bytes flipped, or cut short."""
    how = draw(st.sampled_from(["header", "header", "prefix", "bytes", "cut"]))
    data = trained.weights_bytes
    if how == "header":
        header = json.dumps(draw(mutated(trained.header, rounds=2))).encode()
        length = len(header) if draw(st.booleans()) else draw(st.integers(0, len(header) + 64))
        return length.to_bytes(8, "little") + header + trained.body
    if how == "prefix":
        return draw(st.integers(0, 2**64 - 1)).to_bytes(8, "little") + data[8:]
    if how == "bytes":
        data = bytearray(data)
        n = int.from_bytes(data[:8], "little")
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, 8 + n - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    return data[: draw(st.integers(0, len(data) - 1))]


@FUZZ
@given(data=st.data())
def test_safetensors_damaged(trained, data):
    try:
        trained.weights_path.write_bytes(data.draw(damaged_weights(trained)))
        trained.use()
    finally:
        trained.restore()


# -- the cases of issue 9, one by one ----------------------------------------------------------------

ITOS = ["<pad>", "<unk>", "<bos>", "<eos>", "h"]


@pytest.mark.parametrize("key, value, said", [
    ("version", "2", '"version" is "2", not a format number'),
    ("config", "x", "\"config\": expected a table of settings, got 'x'"),
    ("optimizer", {"param_groups": 3}, '"optimizer" param_groups is 3, not a list of objects'),
    ("step", "4", '"step" is "4", not a whole number ≥ 0'),
    ("epoch", -1, '"epoch" is -1, not a whole number ≥ 0'),
    ("vocab", ITOS, f'"vocab" is {json.dumps(ITOS)[:37]}..., not a vocabulary ({{"itos": [tokens]}})'),
    ("vocab", {"itos": ["h", *ITOS]}, '"vocab": a vocabulary starts with <pad>, <unk>, <bos>, <eos>'),
    ("kind", None, 'not an rnn-tui checkpoint (no "kind": "rnn-tui checkpoint")'),
    ("schedule", {"kind": "sideways", "base_lr": 0.1}, '"schedule" is {"kind": "sideways", "base_lr": 0.1}, not a '
                                                      "schedule's state"),
    ("config", {"model": {"hidden": "big"}}, '"config": [model] hidden must be int, got \'big\''),
])
def test_each_damage_is_one_line_naming_it(lm, key, value, said):
    trained = lm
    doc = dict(trained.meta)
    if value is None:
        del doc[key]
    else:
        doc[key] = value
    trained.write_meta(doc)
    try:
        with pytest.raises(RnnTuiError) as excinfo:
            load_run(trained.run.path)
    finally:
        trained.restore()
    message = str(excinfo.value)
    assert message.startswith(f"checkpoint {trained.run.checkpoints / 'latest'} is damaged: latest.safetensors: {said}")
    assert message.endswith("; use the other checkpoint (--checkpoint best) or retrain")


@pytest.mark.parametrize("weights, said", [
    (lambda b: (2**63).to_bytes(8, "little") + b[8:], "header too large"),
    (lambda b: (10).to_bytes(8, "little") + b"not json!!" + b[18:], "invalid JSON in header"),
    (lambda b: b[: len(b) // 2], ""),  # offsets past the end of the file
    (lambda b: b[:5], ""),
])
def test_a_corrupt_safetensors_file_is_one_line(trained, weights, said):
    trained.weights_path.write_bytes(weights(trained.weights_bytes))
    try:
        with pytest.raises(RnnTuiError) as excinfo:
            load_checkpoint(trained.run.checkpoints, "latest")
    finally:
        trained.restore()
    message = str(excinfo.value)
    assert message.startswith(f"checkpoint {trained.run.checkpoints / 'latest'} is damaged: latest.safetensors is "
                              "unreadable (") and said in message and len(message.splitlines()) == 1


def test_an_optimizer_state_that_does_not_fit_is_one_line(trained):
    ckpt = load_checkpoint(trained.run.checkpoints, "latest")
    model = load_run(trained.run.path).model
    fresh = make_optimizer(ckpt.config.train, model.parameters())
    load_optimizer_state(fresh, ckpt.optimizer, "ckpt")  # the real one fits
    assert fresh.state_dict()["param_groups"][0]["params"] == ckpt.optimizer["param_groups"][0]["params"]
    one_less = torch.optim.Adam(list(model.parameters())[1:])
    with pytest.raises(RnnTuiError, match=r"^ckpt does not fit this optimizer \(\d+ parameters in the checkpoint, "):
        load_optimizer_state(one_less, ckpt.optimizer, "ckpt")
    if ckpt.config.train.optimizer == "adam":
        bad = {**ckpt.optimizer, "param_groups": [{**ckpt.optimizer["param_groups"][0], "betas": 5}]}
        with pytest.raises(RnnTuiError, match=r"its betas is 5, this optimizer's is \[0.9, 0.999\]"):
            load_optimizer_state(fresh, bad, "ckpt")
        older = {**ckpt.optimizer, "param_groups": [{k: v for k, v in ckpt.optimizer["param_groups"][0].items()
                                                     if k != "eps"}]}
        load_optimizer_state(fresh, older, "ckpt")  # a setting it lacks keeps the optimizer's own (torch's would not)
        assert fresh.param_groups[0]["eps"] == 1e-8
        state = {i: {**s, "exp_avg": torch.zeros(3)} for i, s in ckpt.optimizer["state"].items()}
        with pytest.raises(RnnTuiError, match=r"its exp_avg of parameter 0 is \(3,\), not "):
            load_optimizer_state(fresh, {**ckpt.optimizer, "state": state}, "ckpt")


# -- through the real CLI ----------------------------------------------------------------------------


def _cli(*commands: list) -> list[subprocess.CompletedProcess]:
    """Run each command as `python -m rnn_tui …`, all at once (each imports torch: seconds)."""
    env = {**os.environ, "RNN_TUI_ATTACHED": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "rnn_tui", *map(str, args)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for args in commands]
    results = []
    for args, proc in zip(commands, procs):
        out, err = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return results


def _one_error_line(result: subprocess.CompletedProcess, said: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-tui: error: ") and said in lines[0], result.stderr


@pytest.mark.slow
def test_commands_on_a_damaged_checkpoint_and_on_dev_zero(lm, tmp_path):
    """generate, score, inspect and train --resume on a run whose checkpoint metadata is damaged,
    and a new run on /dev/zero (refused before a run directory exists)."""
    trained = lm
    run, root = trained.run, trained.run.path.parent
    trained.write_meta({**trained.meta, "version": "2", "config": "x"})
    try:
        *damaged, zero = _cli(["generate", "r", "--length", "5", "--runs-dir", root],
                              ["score", "r", "hello world", "--runs-dir", root],
                              ["inspect", "r", "hello", "--runs-dir", root],
                              ["train", "--resume", "r", "--steps", "8", "--json", "--runs-dir", root],
                              ["train", "--data", "/dev/zero", "--steps", "1", "--runs-dir", tmp_path / "runs"])
    finally:
        trained.restore()
    for result in damaged:
        _one_error_line(result, f"checkpoint {run.checkpoints / 'latest'} is damaged: latest.safetensors: \"version\" is \"2\"")
    _one_error_line(zero, "/dev/zero is not a regular file")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
