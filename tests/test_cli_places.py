"""`--runs-dir` on odd places (a kernel folder, a file, a path under a file, a folder that cannot
be written or read): `rnn-tui train` and `rnn-tui runs` as a user runs them, one line
`rnn-tui: error: …` or a plain listing, never a traceback. And the CLI's last resort: an OSError
that escapes a command is one line too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_tui.runs import rundir
from tests.test_cli import run_cli
from tests.test_listing import finished_run

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--data", "builtin:hello", "--hidden", "8", "--embed", "4", "--batch", "4", "--seq-len", "16", "--steps", "1"]


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnn_tui", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess, *parts: str) -> str:
    """The command failed with exactly one line on stderr, naming every one of ``parts``."""
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn-tui: error: "), proc.stderr
    assert all(part in lines[0] for part in parts), lines[0]
    return lines[0]


def blocked(folder: Path, mode: int) -> bool:
    """chmod ``folder`` to ``mode``; whether that stops this process (root is not stopped)."""
    folder.chmod(mode)
    try:
        (folder / ".probe").touch()
    except PermissionError:
        return True
    (folder / ".probe").unlink()
    return False


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("place", ["/sys/kernel", "/proc/self", "file", "under-file"])
def test_train_in_a_place_that_cannot_hold_runs_is_one_line(tmp_path, a_file, place):
    runs_dir = {"file": str(a_file), "under-file": f"{a_file}/runs"}.get(place, place)
    proc = cli("train", *TINY, "--runs-dir", runs_dir, cwd=tmp_path)
    one_line_error(proc, runs_dir)
    assert a_file.read_text() == "not a folder"


def test_train_in_a_read_only_folder(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    try:
        if blocked(runs, 0o555):
            one_line_error(cli("train", *TINY, "--runs-dir", runs, cwd=tmp_path), str(runs), "ermission denied")
            assert list(runs.iterdir()) == []
        else:  # root writes anyway: the run trains
            proc = cli("train", *TINY, "--runs-dir", runs, "--name", "r", cwd=tmp_path)
            assert proc.returncode == 0 and (runs / "r" / "config.toml").is_file(), proc.stderr
    finally:
        runs.chmod(0o755)


@pytest.mark.parametrize("place", ["/sys/kernel", "/proc/self", "missing"])
def test_runs_in_a_place_without_runs_lists_none(tmp_path, place):
    runs_dir = str(tmp_path / "missing") if place == "missing" else place
    proc = cli("runs", "--runs-dir", runs_dir, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == "" and f"no runs in {runs_dir}" in proc.stdout, proc.stderr
    proc = cli("runs", "--json", "--runs-dir", runs_dir, cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stderr


@pytest.mark.parametrize("place", ["file", "under-file"])
def test_runs_in_a_file_is_one_line(tmp_path, a_file, place):
    runs_dir = str(a_file) if place == "file" else f"{a_file}/runs"
    for args in (["runs"], ["runs", "--json"]):
        proc = cli(*args, "--runs-dir", runs_dir, cwd=tmp_path)
        assert one_line_error(proc) == f"rnn-tui: error: cannot read runs folder {runs_dir}: Not a directory"
        assert proc.stdout == ""


def test_runs_in_a_folder_that_cannot_be_read(tmp_path):
    runs = tmp_path / "runs"
    finished_run(runs, "r")
    try:
        if blocked(runs, 0):
            proc = cli("runs", "--runs-dir", runs, cwd=tmp_path)
            assert one_line_error(proc) == f"rnn-tui: error: cannot read runs folder {runs}: Permission denied"
        else:  # root reads anyway
            proc = cli("runs", "--json", "--runs-dir", runs, cwd=tmp_path)
            assert proc.returncode == 0 and [r["id"] for r in json.loads(proc.stdout)] == ["r"], proc.stderr
    finally:
        runs.chmod(0o755)


@pytest.mark.parametrize(("error", "line"), [
    (PermissionError(13, "Permission denied", "/some/where"), "rnn-tui: error: /some/where: Permission denied"),
    (OSError(28, "No space left on device"), "rnn-tui: error: No space left on device"),
    (OSError("no errno"), "rnn-tui: error: no errno"),
])
def test_an_oserror_that_escapes_a_command_is_one_line(monkeypatch, capsys, tmp_path, error, line):
    """The last resort of cli.main (the places that can fail are meant to say more)."""
    def failing(root):
        raise error

    monkeypatch.setattr(rundir, "list_runs", failing)
    code, out, err = run_cli(monkeypatch, capsys, "runs", "--runs-dir", tmp_path)
    assert (code, out, err) == (1, "", line + "\n")

