"""The arena: contenders as normal runs grouped by arena.json, the table from their files (also
after a kill or Ctrl-C), equal-parameter sizes, the recall task and the memory probe."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnn_tui.config import Config
from rnn_tui.data.builtin import RECALL_EXAMPLES, RECALL_KEYS, get_builtin, recall
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.arena import arena_table
from rnn_tui.runs.rundir import RunDir, list_runs
from rnn_tui.train.arena import ArenaSettings, contender_configs, run_arena
from tests.test_cli import run_cli

TINY = ["--hidden", "16", "--embed", "8", "--batch", "8", "--seq-len", "20", "--log-interval", "4",
        "--eval-interval", "4", "--sample-interval", "1000", "--sample-length", "5", "--threads", "1"]


def tiny_config(data: str, **train) -> Config:
    cfg = Config()
    cfg.data.spec = data
    cfg.model.hidden, cfg.model.embed = 16, 8
    t = cfg.train
    t.batch, t.seq_len, t.steps, t.log_interval, t.eval_interval = 8, 20, 12, 4, 4
    t.sample_interval, t.sample_length, t.threads, t.schedule = 1000, 5, 1, "constant"
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    """An arena of rnn and gru, 2 seeds × 12 steps on a small text, trained in-process."""
    root = tmp_path_factory.mktemp("arena")
    text = root / "text.txt"
    text.write_text("the cat sat on the mat, the dog sat on the log.\n" * 120, encoding="utf-8")
    runs = root / "runs"
    lines: list[str] = []
    result = run_arena(tiny_config(str(text)), ArenaSettings(cells="rnn,gru", seeds=2), runs, name="a", say=lines.append)
    return result, lines


def test_the_arena_directory_groups_normal_runs(arena):
    result, lines = arena
    plan = json.loads(result.file.read_text())
    assert plan["state"] == "finished" and plan["cells"] == ["rnn", "gru"] and plan["seeds"] == [1337, 1338]
    ids = [r["run"] for r in plan["runs"]]
    assert ids == ["a-rnn-s1337", "a-gru-s1337", "a-rnn-s1338", "a-gru-s1338"]  # seed by seed: a kill leaves whole seeds
    assert len(lines) == 4 and lines[0].startswith("[1/4] rnn")
    listed = {r.id: r for r in list_runs(result.root)}
    assert set(listed) == set(ids)  # the arena folder itself is no run; each contender is one
    for entry in plan["runs"]:
        cfg = listed[entry["run"]].config()
        assert (cfg.model.cell, cfg.train.seed, cfg.train.steps) == (entry["cell"], entry["seed"], 12)
        assert cfg.data.spec == plan["data"] and listed[entry["run"]].read_status()["state"] == "finished"
    starts = [RunDir(result.root / i).read_metrics()[0] for i in ids]  # the same split and tokens for everyone
    assert len({(s["vocab"], s["train_tokens"], s["total_steps"]) for s in starts}) == 1


def test_the_table_is_computed_from_the_runs_files(arena, monkeypatch, capsys):
    result, _ = arena
    table = arena_table(result)
    assert table["state"] == "finished" and table["missing"] == []
    best = {}
    for r in table["runs"]:
        metrics = RunDir(result.root / r["run"]).read_metrics()
        vals = [m for m in metrics if m["event"] == "val"]
        best[r["run"]] = min(v["val_loss"] for v in vals)
        assert r["params"] == metrics[0]["params"] and r["best_val_loss"] == best[r["run"]]
        assert r["curve"] == [[v["elapsed"], v["val_loss"]] for v in vals]
    target = max(best.values())
    assert table["target_loss"] == target  # the default: a loss every finished run reached
    for row in table["rows"]:
        mine = [best[f"a-{row['cell']}-s{seed}"] for seed in (1337, 1338)]
        assert row["best_val_loss"]["mean"] == pytest.approx(statistics.fmean(mine))
        assert row["best_val_loss"]["sd"] == pytest.approx(statistics.stdev(mine))
        assert (row["finished"], row["planned"], row["hidden"]) == (2, 2, 16)
        assert row["time_to_target"]["reached"] == 2 and row["tokens_per_s"]["mean"] > 0
    assert table["rows"][0]["params"] < table["rows"][1]["params"]  # rnn < gru at the same hidden size

    # a target no run reached: no times; one given on the command line wins
    code, out, err = run_cli(monkeypatch, capsys, "arena", "show", "a", "--runs-dir", result.root, "--json",
                             "--target-loss", "0.0001")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["target_loss"] == 0.0001 and all(r["time_to_target"]["reached"] == 0 for r in shown["rows"])
    code, out, err = run_cli(monkeypatch, capsys, "arena", "show", str(result.path))
    assert code == 0 and "arena a" in out and "finished" in out and "2/2" in out and "not finished" not in out


def test_equal_parameter_sizes_match(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("abcdefghij klmnopqrstuvwxyz.\n" * 50, encoding="utf-8")
    cfg = tiny_config(str(text))
    configs, counts = contender_configs(cfg, ArenaSettings(cells="rnn,gru,lstm", params=30_000))
    hidden = {cell: c.model.hidden for cell, c in configs.items()}
    assert hidden["rnn"] > hidden["gru"] > hidden["lstm"]
    from rnn_tui.models.lm import LanguageModel
    from rnn_tui.train.tasks import LMTask

    vocab = len(LMTask(cfg, None).vocab)
    for cell, c in configs.items():
        built = LanguageModel(c.model, vocab).num_params()
        assert counts[cell] == built and abs(built - 30_000) / 30_000 < 0.03, (cell, built)
        for other in (c.model.hidden - 1, c.model.hidden + 1):  # the closest size, not just a close one
            c.model.hidden = other
            assert abs(LanguageModel(c.model, vocab).num_params() - 30_000) >= abs(built - 30_000)
    values = list(counts.values())
    assert max(values) / min(values) < 1.03
    with pytest.raises(RnnTuiError, match="below the smallest"):
        contender_configs(cfg, ArenaSettings(cells="lstm", params=10))


def test_recall_task():
    examples = recall(6)
    assert examples == recall(6) and len(examples) == RECALL_EXAMPLES == len({t for t, _ in examples})
    for text, label in examples:
        assert text[0] == label and text[-1] == "?" and len(text) == 8 and text[1:-1].isdigit()
    per_key = {label: sum(1 for _, x in examples if x == label) for label in RECALL_KEYS}
    assert per_key == dict.fromkeys(RECALL_KEYS, RECALL_EXAMPLES // len(RECALL_KEYS))
    assert len(recall(1)) == 80  # only as many as exist
    assert get_builtin("recall-300").kind == "labels" and get_builtin("recall-16").name == "recall-16"
    with pytest.raises(RnnTuiError, match="between 1 and"):
        get_builtin("recall-0")


def test_memory_probe_doubles_until_a_distance_fails(tmp_path):
    cfg = tiny_config("builtin:hello", steps=3, eval_interval=3, batch=16)
    easy = run_arena(cfg, ArenaSettings(cells="rnn", seeds=1, probe="memory", threshold=0.01, max_distance=8), tmp_path,
                     name="easy")
    row = arena_table(easy)["rows"][0]
    assert [d["distance"] for d in row["distances"]] == [4, 8] and (row["longest"], row["failed_at"]) == (8, None)
    assert row["concluded"] and all(d["bridged"] for d in row["distances"])
    cfg_run = RunDir(tmp_path / "easy-rnn-d8-s1337").config()
    assert (cfg_run.task, cfg_run.data.spec, cfg_run.data.max_tokens) == ("classify", "builtin:recall-8", 0)
    hard = run_arena(cfg, ArenaSettings(cells="lstm", seeds=1, probe="memory", threshold=1.0, max_distance=64), tmp_path,
                     name="hard")
    table = arena_table(hard)
    row = table["rows"][0]
    acc = row["distances"][0]["accuracy"]["mean"]
    assert acc < 1.0  # 3 steps do not learn it
    assert (row["longest"], row["failed_at"], row["concluded"]) == (0, 4, True)
    assert [r["run"] for r in table["runs"]] == ["hard-lstm-d4-s1337"]  # no longer distance tried after a failure


def _arena_process(tmp_path: Path, *args: str) -> subprocess.Popen:
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat, the dog sat on the log.\n" * 120, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-m", "rnn_tui", "arena", "--data", str(text), "--runs-dir", str(tmp_path),
                             "--name", "k", "--cells", "rnn,gru", "--seeds", "1", "--json", *TINY, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_killed_arena_shows_what_finished_and_what_is_missing(tmp_path, monkeypatch, capsys):
    proc = _arena_process(tmp_path, "--time", "30")
    first = RunDir(tmp_path / "k-rnn-s1337")
    try:  # a time budget long enough to kill the first run mid-way: stop it by command, then kill the arena
        _wait_for(lambda: first.status_path.exists() and first.read_status().get("state") == "running", proc)
        first.send("stop")
        _wait_for(lambda: (tmp_path / "k-gru-s1337" / "config.toml").exists(), proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    code, out, err = run_cli(monkeypatch, capsys, "arena", "show", "k", "--runs-dir", tmp_path, "--json")
    assert code == 0, err
    table = json.loads(out)
    assert table["state"] == "interrupted"
    states = {m["run"]: m["state"] for m in table["missing"]}
    assert states["k-rnn-s1337"] == "stopped"  # stopped by command: not a full budget, not counted
    assert states["k-gru-s1337"] == "failed"  # killed while it set up or trained
    assert [row["finished"] for row in table["rows"]] == [0, 0]
    code, out, err = run_cli(monkeypatch, capsys, "arena", "show", "k", "--runs-dir", tmp_path)
    assert code == 0 and "interrupted" in out and "not finished: k-rnn-s1337 (stopped)" in out


def test_ctrl_c_stops_the_run_and_the_arena(tmp_path, monkeypatch, capsys):
    proc = _arena_process(tmp_path, "--time", "30")
    first = RunDir(tmp_path / "k-rnn-s1337")
    try:
        _wait_for(lambda: first.status_path.exists() and first.read_status().get("state") == "running", proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    table = json.loads(out)
    assert table["state"] == "stopped" and first.read_status()["state"] == "stopped"
    assert {m["run"]: m["state"] for m in table["missing"]} == {"k-rnn-s1337": "stopped", "k-gru-s1337": "missing"}
    assert not (tmp_path / "k-gru-s1337").exists()


@pytest.mark.parametrize("args, message", [
    (["--cell", "gru"], "give them with --cells"),
    (["--cells", "rnn,bogus"], "cells must be among"),
    (["--cells", "rnn,rnn"], "cells name one twice"),
    ([], "an arena needs a budget"),
    (["--probe", "memory", "--data", "builtin:hello"], "drop --data"),
    (["--seeds", "0"], "seeds must be between"),
])
def test_bad_flags_are_one_line_and_write_nothing(tmp_path, monkeypatch, capsys, args, message):
    budget = [] if message.startswith("an arena needs") else ["--steps", "5"]
    data = [] if "--data" in args else ["--data", "builtin:hello"]
    code, _out, err = run_cli(monkeypatch, capsys, "arena", "--runs-dir", tmp_path / "runs", *data, *budget, *args)
    assert code == 1 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs").exists()


def test_show_of_no_arena_is_one_line(tmp_path, monkeypatch, capsys):
    code, _out, err = run_cli(monkeypatch, capsys, "arena", "show", "nope", "--runs-dir", tmp_path)
    assert code == 1 and "no arena 'nope'" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "arena.json").write_text("{}")
    code, _out, err = run_cli(monkeypatch, capsys, "arena", "show", "bad", "--runs-dir", tmp_path)
    assert code == 1 and "not an rnn-tui arena file" in err


def test_an_arena_never_takes_over_an_existing_run(tmp_path):
    (tmp_path / "z-gru-s1337").mkdir()
    with pytest.raises(RnnTuiError, match="a run 'z-gru-s1337' already exists"):
        run_arena(tiny_config("builtin:hello"), ArenaSettings(cells="rnn,gru", seeds=1), tmp_path, name="z")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z-gru-s1337"]
