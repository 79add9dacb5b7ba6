"""The listing (`rnn-tui runs`, RunDir.summary, list_runs) survives any single corrupt run: every
good run is listed, a bad one is a row with state ``unreadable`` and the reason, never a traceback.
(The app's Runs tab: tests/test_tui_runs.py; odd --runs-dir places: tests/test_cli_places.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_tui.config import Config
from rnn_tui.runs.files import atomic_write_json, read_json
from rnn_tui.runs.rundir import RUN_FILE_MAX_BYTES, RunDir, list_runs
from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parents[1]


def finished_run(root: Path, name: str, hidden: int = 16) -> RunDir:
    """A finished run as the trainer leaves it, minus the checkpoints (the listing reads none)."""
    cfg = Config()
    cfg.data.spec, cfg.model.hidden = "builtin:hello", hidden
    run = RunDir.create(root, cfg.validate(), name=name)
    run.write_status(state="finished", step=5, epoch=0.2, best_val_loss=2.25)
    return run


def set_status(run: RunDir, **fields) -> None:
    atomic_write_json(run.status_path, {**read_json(run.status_path), **fields})


# Each damage: what it does to the run, and the reason its row gives (None: the run still reads).
DAMAGES = {
    "status-random-bytes": (lambda r: r.status_path.write_bytes(bytes(range(256)) * 3), "status.json: not a JSON object"),
    "status-a-list": (lambda r: r.status_path.write_text("[1, 2, 3]"), "status.json: not a JSON object"),
    "status-missing": (lambda r: r.status_path.unlink(), "status.json: missing"),
    "status-a-folder": (lambda r: (r.status_path.unlink(), r.status_path.mkdir()), "status.json: not a regular file"),
    "status-a-fifo": (lambda r: (r.status_path.unlink(), os.mkfifo(r.status_path)), "status.json: not a regular file"),
    "status-too-large": (lambda r: r.status_path.write_text(" " * (RUN_FILE_MAX_BYTES + 1) + "{}"), "status.json: too large"),
    "status-deep-json": (lambda r: r.status_path.write_text("[" * 100_000), "status.json: "),
    "config-model-5": (lambda r: r.config_path.write_text("model = 5\n"), "config.toml"),
    "config-random-bytes": (lambda r: r.config_path.write_bytes(bytes(range(256)) * 3), "config.toml: not valid TOML"),
    "config-not-utf8": (lambda r: r.config_path.write_bytes('task = "lm"\n# café\n'.encode("latin-1")),
                        "config.toml: not valid TOML"),
    "config-bad-value": (lambda r: r.config_path.write_text("[model]\nhidden = -3\n"), "config.toml"),
    "config-a-folder": (lambda r: (r.config_path.unlink(), r.config_path.mkdir()), None),  # no config.toml: no run
    "folder-a-file": (lambda r: (shutil.rmtree(r.path), r.path.write_text("not a run")), None),  # no run
}


def listing(root: Path) -> dict[str, dict]:
    return {row["id"]: row for row in (run.summary() for run in list_runs(root))}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_run_is_a_row_that_says_why(tmp_path, monkeypatch, capsys, damage):
    finished_run(tmp_path, "good")
    bad = finished_run(tmp_path, "bad", hidden=24)
    damage_run, reason = DAMAGES[damage]
    damage_run(bad)

    rows = listing(tmp_path)
    assert rows["good"]["state"] == "finished" and rows["good"]["reason"] is None and rows["good"]["model"] == "lstm 1x16"
    if damage in ("config-a-folder", "folder-a-file"):
        assert set(rows) == {"good"}
    else:
        assert set(rows) == {"good", "bad"}
        assert rows["bad"]["state"] == "unreadable" and rows["bad"]["reason"].startswith(reason), rows["bad"]
        assert "\n" not in rows["bad"]["reason"]
        if reason.startswith("status.json"):  # what could be read is still shown
            assert rows["bad"]["model"] == "lstm 1x24" and rows["bad"]["config"] is not None
        else:
            assert rows["bad"]["model"] == "?" and rows["bad"]["config"] is None and rows["bad"]["step"] == 5

    code, out, err = run_cli(monkeypatch, capsys, "runs", "--json", "--runs-dir", tmp_path)
    assert code == 0 and err == ""
    shown = {r["id"]: (r["state"], r["reason"]) for r in json.loads(out)}
    assert shown == {k: (r["state"], r["reason"]) for k, r in rows.items()}
    code, out, err = run_cli(monkeypatch, capsys, "runs", "--runs-dir", tmp_path)
    assert code == 0 and err == "" and re.search(r"good\s+│\s+finished\s+│\s+5\s+│", out), out
    if "bad" in rows:  # the reason where the data would be
        assert re.search(r"bad\s+│\s+unreadable\s+│", out) and rows["bad"]["reason"][:9] in out, out


@pytest.mark.parametrize("pid", ["abc", 99999999999, -1, 0, 1.5, None])
def test_a_live_status_with_a_bad_pid_is_listed(tmp_path, pid):
    """A bad pid never breaks the listing, and no pid makes a trainer: without the run's lock the
    live status reads failed."""
    finished_run(tmp_path, "good")
    set_status(finished_run(tmp_path, "bad"), state="running", pid=pid)
    rows = listing(tmp_path)
    assert set(rows) == {"good", "bad"} and rows["good"]["state"] == "finished"
    assert rows["bad"]["state"] == "failed" and rows["bad"]["reason"] is None  # no trainer holds its lock


def test_an_empty_config_is_listed(tmp_path):
    finished_run(tmp_path, "good")
    finished_run(tmp_path, "bad").config_path.write_text("")
    rows = listing(tmp_path)
    assert set(rows) == {"good", "bad"} and rows["bad"]["state"] == "unreadable"  # not the default config
    assert rows["bad"]["reason"].startswith("config.toml ")


def test_a_run_folder_that_cannot_be_looked_into(tmp_path):
    """chmod 000 on a run folder: unreadable, "folder: Permission denied". Root (or anyone with
    CAP_DAC_OVERRIDE) still reads it: then the run simply lists."""
    finished_run(tmp_path, "good")
    locked = finished_run(tmp_path, "locked")
    locked.path.chmod(0)
    try:
        try:
            (locked.path / "config.toml").stat()
            blocked = False
        except PermissionError:
            blocked = True
        rows = listing(tmp_path)
    finally:
        locked.path.chmod(0o755)
    assert set(rows) == {"good", "locked"} and rows["good"]["state"] == "finished"
    if blocked:
        assert rows["locked"]["state"] == "unreadable" and rows["locked"]["reason"] == "folder: Permission denied"
    else:
        assert rows["locked"]["state"] == "finished"


def test_listing_order_survives_a_run_without_times(tmp_path):
    """Oldest first by config.toml's time; a run without one (it vanished, or cannot be read)
    still sorts (by its folder's time)."""
    first = finished_run(tmp_path, "first")
    second = finished_run(tmp_path, "second")
    os.utime(first.config_path, (1_000_000, 1_000_000))
    os.utime(second.config_path, (2_000_000, 2_000_000))
    assert [r.id for r in list_runs(tmp_path)] == ["first", "second"]
    first.config_path.unlink()
    (first.path / "config.toml").mkdir()  # no longer a run
    assert [r.id for r in list_runs(tmp_path)] == ["second"]


def test_the_real_cli_lists_good_and_bad_runs_without_a_traceback(tmp_path):
    """`rnn-tui runs` as a user runs it: the good run, and each corrupt one as unreadable."""
    finished_run(tmp_path, "good")
    set_status(finished_run(tmp_path, "huge-pid"), state="running", pid=99999999999)
    finished_run(tmp_path, "bad-config").config_path.write_text("model = 5\n")
    finished_run(tmp_path, "garbage-status").status_path.write_bytes(os.urandom(64) + b"\xff")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    for args in (["runs"], ["runs", "--json"]):
        proc = subprocess.run([sys.executable, "-m", "rnn_tui", *args, "--runs-dir", str(tmp_path)],
                              capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr and proc.stderr == "", proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == {"good", "huge-pid", "bad-config", "garbage-status"}
    assert rows["good"]["state"] == "finished"
    assert rows["bad-config"]["state"] == "unreadable" and rows["bad-config"]["reason"].startswith("config.toml")
    assert rows["garbage-status"]["reason"] == "status.json: not a JSON object"
    assert rows["huge-pid"]["state"] != "running"
