"""UI responsiveness: start-up, Inspect key latency (idle and beside a trainer), and what the
attached app costs a trainer. Everything is measured on this machine, in one run; ratios come
from runs alternated in the same process, so a slow machine hits both sides alike.

    python bench/ui.py [--secs 40] [--rounds 2]

Measures (a table, not a test: nothing here asserts a time):

* help_s: wall time of ``rnn-tui --help`` (``python -m rnn_tui --help``), median of 7.
* first_frame_s: ``python -m rnn_tui app`` spawned in tmux (100×30) until the tab bar is on
  screen (``tmux capture-pane`` polled every 10 ms), median of 5.
* step_ms: Inspect cursor → on a 2×512 LSTM, ~120-token text, 100 presses, median and p95:
  from handing the key to the app as its terminal driver does to the end of the last frame
  written for it (rendered to terminal text).
* p95_key_ms: the same, 200 presses ←/→ alternated, while a trainer (the app's default model,
  started like the app does, attached: 1 thread) trains another run.
* attached_ratio: that trainer's tokens/s with the real app following it in tmux over its
  tokens/s alone (alternated a→b→a→b); headless 2-thread tokens/s printed for context.

Last line: ``RESULT p95_key_ms=<x> attached_ratio=<y> help_s=<z> first_frame_s=<w> step_ms=<v>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_tui.runs import launcher  # noqa: E402
from rnn_tui.runs.rundir import RunDir  # noqa: E402

SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
TMUX_SOCKET = f"rnn-tui-bench-{os.getpid()}"
FRAMES: list[tuple[int, int]] = []  # (frames written, keys sent), per inspect_latency call
INSPECT_TEXT = ("def main(argv=None):\\n    args = parse(argv)\\n    for name in sorted(args.paths):\\n"
                "        print(name, len(name))\\n    return 0\\n")  # \n typed as in the Input


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


# -- tmux ------------------------------------------------------------------------------------------

def tmux(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", TMUX_SOCKET, *args], capture_output=True, text=True, check=check)


def tmux_app(session: str, args: list[str]) -> None:
    cmd = " ".join([sys.executable, "-m", "rnn_tui", "app", *args])
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", "-c", str(ROOT), cmd, check=True)


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session).stdout


def tab_bar_shown(text: str) -> bool:
    return "Train" in text and "Runs" in text and "Inspect" in text


def wait_frame(session: str, timeout: float = 20.0) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if tab_bar_shown(screen(session)):
            return time.perf_counter() - start
        time.sleep(0.01)
    return None


def kill_session(session: str) -> None:
    tmux("kill-session", "-t", session)


# -- 1, 2: start-up ------------------------------------------------------------------------------

def bench_help(n: int = 7) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnn_tui", "--help"], cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_first_frame(runs_dir: Path, n: int = 5) -> float:
    times = []
    for i in range(n):
        session = f"ff{i}"
        start = time.perf_counter()
        tmux_app(session, ["--runs-dir", str(runs_dir)])
        try:
            t = wait_frame(session)
            if t is None:
                raise RuntimeError(f"no tab bar on screen after 20 s:\n{screen(session)}")
            times.append(time.perf_counter() - start)
        finally:
            kill_session(session)
        time.sleep(0.3)
    return statistics.median(times)


# -- 3, 4: Inspect key latency -----------------------------------------------------------------

async def inspect_latency(runs_root: Path, run_id: str, keys: list[str]) -> list[float]:
    """Key → screen updated, in ms: each key is handed to the app as its terminal driver does
    (``driver.send_message``), and the time is taken at the end of the last frame the app
    writes for it (``App._display``, including rendering the update to terminal text), once
    no frame has come for 60 ms. Pilot's ``press`` is not used to time: it waits for every
    widget to drain its queue (~70 ms here), which is Pilot's cost, not the app's."""
    from textual import events
    from textual._compositor import CompositorUpdate
    from textual.widgets import Input

    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.panes.inspect import InspectPane
    from rnn_tui.tui.widgets.token_strip import TokenStrip

    app = RnnTuiApp(runs_root, open_run=run_id)
    frames: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        display = app._display

        def timed_display(screen, renderable) -> None:
            display(screen, renderable)
            if renderable is not None:
                if isinstance(renderable, CompositorUpdate):
                    renderable.render_segments(app.console)  # the text a terminal would get
                frames.append(time.perf_counter())

        app._display = timed_display
        await pilot.press("3")
        pane = app.query_one(InspectPane)
        await pilot.pause(0.2)
        pane.query_one("#ins-text", Input).value = INSPECT_TEXT
        deadline = time.monotonic() + 60
        while not (pane.data is not None and pane.data.length >= 100):
            if time.monotonic() > deadline:
                raise RuntimeError("Inspect never showed a trace of the text")
            await pilot.pause(0.05)
        pane.query_one(TokenStrip).focus()
        await pilot.pause(0.5)
        times, moves = [], 0
        for key in keys:
            before, seen = pane.t, len(frames)
            start = time.perf_counter()
            app._driver.send_message(events.Key(key, None))
            last_count, quiet_since = seen, time.perf_counter()
            while time.perf_counter() - quiet_since < 0.06:
                await asyncio.sleep(0.002)
                if len(frames) != last_count:
                    last_count, quiet_since = len(frames), time.perf_counter()
            if len(frames) == seen:
                raise RuntimeError(f"no frame after {key!r}")
            times.append((frames[-1] - start) * 1000)
            moves += pane.t != before
        FRAMES.append((len(frames), len(keys)))
    if moves < len(keys) * 0.9:
        raise RuntimeError(f"the cursor moved on only {moves} of {len(keys)} keys")
    return times


# -- 5: trainer throughput ---------------------------------------------------------------------

def trainer_config(data_spec: str):
    from rnn_tui.tui.app import default_config

    cfg = default_config()
    cfg.data.spec = data_spec
    cfg.train.time, cfg.train.steps = 0.0, 10**7
    return cfg.validate()


def train_rates(run: RunDir) -> list[float]:
    return [r["tokens_per_s"] for r in run.read_metrics() if r.get("event") == "train"]


def timed_trainer(root: Path, data_spec: str, secs: float, *, app: bool, threads: int | None = None,
                  started: list | None = None) -> float:
    """Start a trainer as the app does; optionally the real app follows it in tmux; median
    tokens/s of its records after the first two, collected for ``secs`` seconds."""
    run = RunDir.create(root, trainer_config(data_spec))
    session = None
    try:
        if app:
            session = "att"
            tmux_app(session, ["--runs-dir", str(root), "--run", run.id])
            if wait_frame(session) is None:
                raise RuntimeError(f"attached app never drew:\n{screen(session)}")
            time.sleep(1.0)  # let it finish settling (torch preload) before the trainer starts
        launcher.start_trainer(run, threads=threads)
        if started is not None:
            started.append(run)
        deadline = time.monotonic() + 90
        while len(train_rates(run)) < 2:
            if time.monotonic() > deadline or run.read_status().get("state") in ("failed", "done", "stopped"):
                log = (run.path / "trainer.log").read_text()[-2000:]
                raise RuntimeError(f"trainer did not train: {run.read_status()}\n{log}")
            time.sleep(0.1)
        if session is not None and "Train" not in screen(session):
            raise RuntimeError("attached app is not showing the Train tab")
        time.sleep(secs)
        launcher.stop_trainer(run)
        rates = train_rates(run)[2:]
        if not rates:
            raise RuntimeError("no train records after the first two")
        return statistics.median(rates)
    finally:
        if launcher.trainer_pid(run) is not None:
            launcher.stop_trainer(run)
        if session is not None:
            kill_session(session)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secs", type=float, default=40, help="seconds per attached-ratio trainer run")
    parser.add_argument("--rounds", type=int, default=2, help="a→b rounds for attached_ratio")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("bench/ui.py needs tmux")

    tmp = Path(tempfile.mkdtemp(prefix="rnn-tui-bench-ui-"))
    data_spec = str(SHAKESPEARE) if SHAKESPEARE.is_file() else "builtin:python-stdlib"
    # the trainer's config (the app's default model) always uses the app's dataset
    trainer_data = "builtin:python-stdlib"
    started: list[RunDir] = []
    total_start = time.perf_counter()
    try:
        import torch

        print(f"torch {torch.__version__}, {os.cpu_count()} CPUs; Inspect run on "
              f"{Path(data_spec).name if SHAKESPEARE.is_file() else data_spec}; trainer on {trainer_data}", flush=True)
        help_s = bench_help()
        print(f"help_s        {help_s:.3f}", flush=True)
        first_frame_s = bench_first_frame(tmp / "empty-runs")
        print(f"first_frame_s {first_frame_s:.3f}", flush=True)

        # the 2×512 LSTM for Inspect: two steps, just for a checkpoint
        from rnn_tui.config import Config
        from rnn_tui.train.trainer import train_run

        cfg = Config()
        cfg.data.spec = data_spec
        cfg.model.cell, cfg.model.layers, cfg.model.hidden = "lstm", 2, 512
        t = cfg.train
        t.batch, t.seq_len, t.steps, t.log_interval, t.eval_interval = 4, 32, 2, 1, 10**6
        t.sample_interval, t.checkpoint_interval, t.sample_length, t.schedule, t.eval_batches = 10**6, 10**6, 1, "constant", 1
        inspect_root = tmp / "inspect-runs"
        big = RunDir.create(inspect_root, cfg.validate(), name="lstm-2x512")
        train_run(big)

        steps = asyncio.run(inspect_latency(inspect_root, big.id, ["right"] * 100))
        step_ms, step_p95 = statistics.median(steps), pct(steps, 0.95)
        print(f"step_ms       median {step_ms:.1f}  p95 {step_p95:.1f}", flush=True)

        # 4: the same while a trainer trains another run (not followed by the app)
        bg = RunDir.create(tmp / "bg-runs", trainer_config(trainer_data))
        launcher.start_trainer(bg)
        started.append(bg)
        deadline = time.monotonic() + 90
        while not train_rates(bg):
            if time.monotonic() > deadline:
                raise RuntimeError(f"background trainer never trained: {bg.read_status()}")
            time.sleep(0.1)
        keys = asyncio.run(inspect_latency(inspect_root, big.id, ["right", "left"] * 100))
        bg_rate = statistics.median(train_rates(bg)[2:] or train_rates(bg))
        launcher.stop_trainer(bg)
        key_p50, key_p95 = statistics.median(keys), pct(keys, 0.95)
        print(f"p95_key_ms    p50 {key_p50:.1f}  p95 {key_p95:.1f}  (trainer meanwhile {bg_rate:,.0f} tok/s)", flush=True)

        # 5: trainer alone vs with the real app attached, alternated
        tp_root = tmp / "tp-runs"
        alone, attached = [], []
        for _ in range(args.rounds):
            alone.append(timed_trainer(tp_root, trainer_data, args.secs, app=False, started=started))
            print(f"  trainer alone          {alone[-1]:>9,.0f} tok/s", flush=True)
            attached.append(timed_trainer(tp_root, trainer_data, args.secs, app=True, started=started))
            print(f"  trainer + app attached {attached[-1]:>9,.0f} tok/s", flush=True)
        headless2 = timed_trainer(tp_root, trainer_data, min(args.secs, 25), app=False, threads=2, started=started)
        print(f"  headless, 2 threads    {headless2:>9,.0f} tok/s (context)", flush=True)
        attached_ratio = statistics.median(attached) / statistics.median(alone)
    finally:
        for run in started:
            if launcher.trainer_pid(run) is not None:
                launcher.stop_trainer(run)
        tmux("kill-server")
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        ("help_s (rnn-tui --help, median of 7)", f"{help_s:.3f} s", "≤ 0.25 s", help_s <= 0.25),
        ("first_frame_s (tab bar in tmux, median of 5)", f"{first_frame_s:.3f} s", "≤ 1.0 s", first_frame_s <= 1.0),
        ("step_ms (Inspect →, 2×512 LSTM, median)", f"{step_ms:.1f} ms", "≤ 20 ms", step_ms <= 20),
        ("  step p95", f"{step_p95:.1f} ms", "", None),
        ("key p50 (Inspect ←/→ beside a trainer)", f"{key_p50:.1f} ms", "", None),
        ("p95_key_ms (Inspect ←/→ beside a trainer)", f"{key_p95:.1f} ms", "≤ 50 ms", key_p95 <= 50),
        ("  frames written per key", f"{FRAMES[-1][0] / FRAMES[-1][1]:.2f}", "", None),
        ("trainer alone, attached mode (median)", f"{statistics.median(alone):,.0f} tok/s", "", None),
        ("trainer + app following it (median)", f"{statistics.median(attached):,.0f} tok/s", "", None),
        ("attached_ratio", f"{attached_ratio:.3f}", "≥ 0.9", attached_ratio >= 0.9),
        ("headless 2 threads (context)", f"{headless2:,.0f} tok/s", "", None),
    ]
    print()
    print(f"{'what':<46} {'value':>14} {'target':>9}  ok?")
    print("-" * 76)
    for what, value, target, ok in rows:
        print(f"{what:<46} {value:>14} {target:>9}  {'' if ok is None else ('yes' if ok else 'NO')}")
    print(f"(total {time.perf_counter() - total_start:.0f} s)")
    print(f"RESULT p95_key_ms={key_p95:.1f} attached_ratio={attached_ratio:.3f} help_s={help_s:.3f} "
          f"first_frame_s={first_frame_s:.3f} step_ms={step_ms:.1f}")


if __name__ == "__main__":
    main()
