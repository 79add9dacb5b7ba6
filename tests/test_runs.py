"""The run directory: atomic files, tolerant JSON lines, status liveness, checkpoints, commands."""

import json
import subprocess
import sys

import pytest
import torch

from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.checkpoint import load_checkpoint, load_model_state, save_checkpoint
from rnn_tui.runs.files import append_jsonl, atomic_write_text, read_jsonl
from rnn_tui.runs.rundir import RunDir, list_runs


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "status.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_read_jsonl_waits_for_a_torn_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_jsonl(path, {"step": 1})
    append_jsonl(path, {"step": 2})
    with open(path, "a") as f:
        f.write('{"step": 3, "lo')  # a writer caught mid-line
    records, offset = read_jsonl(path)
    assert [r["step"] for r in records] == [1, 2]
    with open(path, "a") as f:
        f.write('ss": 1.5}\n')
    more, offset2 = read_jsonl(path, offset)
    assert more == [{"step": 3, "loss": 1.5}]
    assert offset2 == path.stat().st_size
    assert read_jsonl(tmp_path / "missing.jsonl", 7) == ([], 7)


def test_run_create_open_and_errors(tmp_path):
    run = RunDir.create(tmp_path, Config(), name="first")
    assert run.id == "first"
    assert (run.path / "checkpoints").is_dir()
    assert run.read_status()["state"] == "starting"
    assert RunDir.open("first", tmp_path).path == run.path
    assert RunDir.open(run.path).path == run.path
    with pytest.raises(RnnTuiError, match="already exists"):
        RunDir.create(tmp_path, Config(), name="first")
    with pytest.raises(RnnTuiError, match="no run 'nope'"):
        RunDir.open("nope", tmp_path)
    second = RunDir.create(tmp_path, Config())
    assert [r.id for r in list_runs(tmp_path)] == ["first", second.id]
    assert run.config() == Config()


def test_status_of_a_dead_trainer_reads_failed(tmp_path):
    run = RunDir.create(tmp_path, Config(), name="r")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run.write_status(state="running", step=40)
    status = json.loads(run.status_path.read_text())
    status["pid"] = proc.pid
    run.status_path.write_text(json.dumps(status))
    seen = run.read_status()
    assert seen["state"] == "failed" and seen["written_state"] == "running"
    assert "resume" in seen["error"] and seen["step"] == 40


def test_commands_are_validated_and_appended(tmp_path):
    run = RunDir.create(tmp_path, Config(), name="r")
    run.send("pause")
    run.send("set-lr", lr=0.01)
    with pytest.raises(RnnTuiError):
        run.send("explode")
    with pytest.raises(RnnTuiError):
        run.send("set-lr", lr=-1)
    commands, offset = run.read_commands(0)
    assert [c["cmd"] for c in commands] == ["pause", "set-lr"] and commands[1]["lr"] == 0.01
    assert offset == run.control_size()


def _tiny():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 3)).sum().backward()
    opt.step()
    return model, opt


def _meta(step: int) -> dict:
    """The metadata the trainer writes (load_checkpoint checks every key that is read)."""
    return {"task": "lm", "config": Config().to_dict(), "vocab": {"itos": ["<pad>", "<unk>", "<bos>", "<eos>", "a"]},
            "step": step, "epoch": 0, "index": 0, "schedule": {"kind": "constant", "base_lr": 0.01}}


def _save(folder, model, step: int, **kwargs) -> None:
    save_checkpoint(folder, "latest", model=model, meta=_meta(step), extra={"rng/cpu": torch.get_rng_state()}, **kwargs)


def test_checkpoint_round_trip_without_pickle(tmp_path):
    model, opt = _tiny()
    _save(tmp_path, model, 7, optimizer=opt)
    ckpt = load_checkpoint(tmp_path, "latest")
    assert ckpt.meta["step"] == 7 and ckpt.meta["vocab"] == {"itos": ["<pad>", "<unk>", "<bos>", "<eos>", "a"]}
    assert ckpt.config == Config()
    assert torch.equal(ckpt.extra["rng/cpu"], torch.get_rng_state())
    other, other_opt = _tiny()
    with torch.no_grad():
        for p in other.parameters():
            p.zero_()
    load_model_state(other, ckpt.model, "ckpt")
    for a, b in zip(model.parameters(), other.parameters()):
        assert torch.equal(a, b)
    other_opt.load_state_dict(ckpt.optimizer)
    mine, theirs = opt.state_dict()["state"], other_opt.state_dict()["state"]
    assert sorted(mine) == sorted(theirs) == [0, 1, 2, 3]
    for k in mine:
        assert torch.equal(mine[k]["exp_avg"], theirs[k]["exp_avg"]) and torch.equal(mine[k]["step"], theirs[k]["step"])
    assert b"pickle" not in (tmp_path / "latest.safetensors").read_bytes()[:200]


def test_checkpoint_of_another_model_is_one_clear_line(tmp_path):
    model, _ = _tiny()
    _save(tmp_path, model, 1)
    bigger = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Linear(8, 2))
    with pytest.raises(RnnTuiError, match=r"does not fit this model: 0\.weight is \(4, 3\) in the checkpoint, \(8, 3\)"):
        load_model_state(bigger, load_checkpoint(tmp_path).model, "ckpt")


def test_a_checkpoint_is_its_weights_file(tmp_path):
    """The weights file carries the metadata: the .json beside it, one save behind (killed
    between the two renames) or damaged, changes nothing."""
    model, _ = _tiny()
    _save(tmp_path, model, 1)
    first_json = (tmp_path / "latest.json").read_bytes()
    _save(tmp_path, model, 2)
    (tmp_path / "latest.json").write_bytes(first_json)  # as if killed between the two renames
    assert load_checkpoint(tmp_path).meta["step"] == 2
    (tmp_path / "latest.json").write_text("{}")
    assert load_checkpoint(tmp_path).meta["step"] == 2
    (tmp_path / "latest.json").unlink()
    assert load_checkpoint(tmp_path).meta["step"] == 2
    with pytest.raises(RnnTuiError, match="no best checkpoint"):
        load_checkpoint(tmp_path, "best")
