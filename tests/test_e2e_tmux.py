"""End to end in tmux: the real app, a real trainer process, keys, SIGKILL, reopening."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnn_tui.runs.rundir import LIVE_STATES, pid_alive


def require_tmux() -> None:
    """Under CI (.ci/run installs tmux) a missing tmux fails; elsewhere the test is skipped, and
    pytest's summary counts the skip."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed: CI must install it (.ci/run does) to run the end-to-end test")
        pytest.skip("tmux is not installed (.ci/run installs it)")


EXITED = "command exited with status"


class Tmux:
    def __init__(self, name: str, cwd: Path) -> None:
        self.name, self.cwd = f"rnntui-{name}-{os.getpid()}", cwd

    def start(self, command: str, width: int = 110, height: int = 34) -> None:
        env = f"env TERM=xterm-256color COLORTERM= PATH={os.environ['PATH']}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
                        "-c", str(self.cwd), f"{env} {command}; echo {EXITED} $?; sleep 600"], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def wait_for(self, text: str, seconds: float = 90) -> str:
        deadline = time.time() + seconds
        while time.time() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{text!r} did not appear; the screen shows:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_train_watch_kill_and_reopen(tmp_path):
    require_tmux()
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat and the dog sat on the log.\n" * 400, encoding="utf-8")
    runs = tmp_path / "runs"
    app = f"{sys.executable} -m rnn_tui app --runs-dir {runs} --data {text}"
    tmux = Tmux("e2e", tmp_path)
    try:
        tmux.start(app)
        tmux.wait_for("press s to train")
        tmux.keys("s")
        tmux.wait_for(": running")
        tmux.wait_for("━ train")  # the loss curve's legend with a value
        screen = tmux.wait_for("sat on the", seconds=120)  # a sample streamed in beside the curves
        assert "loss (nats/token)" in screen
        tmux.keys("3")  # Inspect: the trace of the default text, on the latest checkpoint
        tmux.wait_for("t=0 token", seconds=240)  # the first checkpoint comes at step 500: slow on a loaded machine
        tmux.keys("Right", "Right", "Down")
        screen = tmux.wait_for("t=2 token")
        assert "unit 1" in screen and "c = f·c_prev + i·g" in screen
        tmux.keys("4")  # Generate from a prime
        # Textual hands each key to the focused widget before the previous key's action has run, so
        # keys sent with the tab's number would still reach Inspect: wait until Generate is shown
        tmux.wait_for("ctrl+g generates from the prime")
        tmux.keys("C-u", "the cat", "C-g")
        screen = tmux.wait_for("done ·", seconds=120)  # the status line after generating: "done · N tokens · … tok/s"
        assert "2 Train" not in screen  # the prompt has the focus: the footer shows its keys, not the tabs'
        tmux.keys("Escape")  # esc leaves the prompt (sent alone: ESC then 2 at once would read as alt+2)
        tmux.wait_for("2 Train")  # the footer lists the tab keys again: the prompt has let go of the focus
        tmux.keys("2")  # back to Train
        tmux.wait_for("loss (nats/token)")
        (run,) = [p for p in runs.iterdir() if (p / "config.toml").is_file()]
        pid = json.loads((run / "status.json").read_text())["pid"]
        os.kill(pid, signal.SIGKILL)
        tmux.wait_for(": failed")
        tmux.keys("C-q")  # no live run any more: quits at once
        tmux.wait_for(f"{EXITED} 0")
        tmux.kill()

        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert any(r["event"] == "train" for r in records), "metrics written before the kill are intact"
        tmux = Tmux("reopen", tmp_path)
        tmux.start(f"{sys.executable} -m rnn_tui app --runs-dir {runs}")
        tmux.wait_for("press s to train")  # the app is up and takes keys
        tmux.keys("5")
        screen = tmux.wait_for(run.name[:20])
        assert "failed" in screen
        tmux.keys("enter")
        screen = tmux.wait_for(f"{run.name}: failed")
        assert "the trainer" in screen  # "— the trainer (pid N) ended without a final status …"
    finally:
        tmux.kill()
        for status in runs.glob("*/status.json"):  # a failure midway leaves the trainer running: end it
            state = json.loads(status.read_text())
            if state.get("state") in LIVE_STATES and pid_alive(state.get("pid")):
                os.kill(state["pid"], signal.SIGTERM)
