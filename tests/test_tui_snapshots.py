"""SVG snapshots of the app's screens at fixed terminal sizes, compared by pytest-textual-snapshot
with the accepted ones in tests/__snapshots__/test_tui_snapshots/.

Nothing timing- or machine-dependent reaches a picture: the runs are written by hand (fixed names,
states and numbers) or trained in-process with fixed seeds and one torch thread; each test waits on
conditions, never a fixed sleep; the generation speed comes from a fake clock; text cursors do not
blink. A trained model's float results differ in the last bits between CPUs, but the pictures show
them to 2–3 decimals and in quantised colours (greedy choices win by ≥ 0.15 nats): they held with
other kernels, `ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41`,
which move the trained weights by ~1e-5.

On a deliberate change of the UI, regenerate with
`python -m pytest tests/test_tui_snapshots.py --snapshot-update` and look at every changed SVG
(a failed comparison writes snapshot_report.html, which shows the old and new pictures side by side).
"""

import itertools
import os
import threading
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from rnn_tui.config import Config
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.generate import GeneratePane
from rnn_tui.tui.panes.inspect import InspectPane
from rnn_tui.tui.panes.translate import TranslatePane
from tests.conftest import handwritten_run, train_tiny_run, wait_for
from tests.test_train_seq2seq import pairs_file, s2s_config

SIZE = (100, 30)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- runs ---------------------------------------------------------------------------------------------


_LOCKS = []  # the locks of the runs that pretend to be training, held for the whole test session


def written_run(root: Path, name: str, cfg: Config, **status) -> RunDir:
    """A run directory holding only a config and a status (the Runs tab reads no more); a live
    state holds the run's lock, as its trainer would, so it reads as alive."""
    run = RunDir.create(root, cfg.validate(), name=name)
    run.write_status(**status)
    if status.get("state") in ("running", "paused"):
        _LOCKS.append(run.lock())
    return run


@pytest.fixture(scope="module")
def handwritten_root(tmp_path_factory) -> Path:
    """Runs in every state, written by hand: snapshot-run (finished, with curves and a sample; the
    one the app opens), a stopped GRU, a failed one, a translator, and one running."""
    root = tmp_path_factory.mktemp("handwritten") / "runs"
    runs = [handwritten_run(root)]
    cfg = Config()
    cfg.data.spec, cfg.model.cell, cfg.model.layers, cfg.model.hidden = "texts/shakespeare.txt", "gru", 2, 128
    runs.append(written_run(root, "gru-shakespeare", cfg, state="stopped", step=400, epoch=0.4, best_val_loss=1.9125))
    cfg = Config()
    cfg.data.spec, cfg.model.hidden = "builtin:arith", 1024
    runs.append(written_run(root, "too-big", cfg, state="failed", step=0, error="CUDA out of memory"))
    cfg = Config(task="seq2seq")
    cfg.data.spec, cfg.model.cell, cfg.model.bidirectional, cfg.model.attention = "builtin:numbers-en-zh", "gru", True, "additive"
    runs.append(written_run(root, "numbers-mt", cfg, state="finished", step=3000, epoch=12.5, best_val_loss=0.0831))
    cfg = Config()
    cfg.data.spec, cfg.model.cell = "builtin:brackets", "rnn"
    runs.append(written_run(root, "brackets-live", cfg, state="running", step=250, epoch=0.1))
    for k, run in enumerate(runs):  # the Runs tab lists newest first, by the config's time
        os.utime(run.config_path, (1_700_000_000 + k, 1_700_000_000 + k))
    return root


@pytest.fixture(scope="module")
def trained_root(tmp_path_factory) -> Path:
    """Two small runs trained in-process (fixed seeds, one thread, a few seconds): a 2-layer
    character LSTM on a short English text ("lm") and an English → Chinese translator ("mt")."""
    root = tmp_path_factory.mktemp("trained")  # the runs, and the text and pairs they train on
    train_tiny_run(root, "the cat sat on the mat. the dog ate the hat.\n" * 100, "lm", steps=400, layers=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNN_TUI_ATTACHED", "1")  # one trainer thread
        train_run(RunDir.create(root, s2s_config(str(pairs_file(root)), steps=150), name="mt"))
    return root


# -- driving the app ------------------------------------------------------------------------------------


def no_cursor_blink(pilot: Pilot) -> None:
    for field in pilot.app.query(Input):
        field.cursor_blink = False


async def opened(pilot: Pilot, run_id: str) -> None:
    """Wait until the app has settled on ``run_id``: its history polled and shown, the header
    naming it, its config in the Train form, its data previewed, the runs listed."""
    app = pilot.app
    no_cursor_blink(pilot)
    assert await wait_for(pilot, lambda: f"{run_id}: " in str(app.query_one("#run-status").render()))
    spec = RunDir(app.runs_root / run_id).config().data.spec
    assert await wait_for(pilot, lambda: str(app.sub_title) == f"run: {run_id}")
    assert await wait_for(pilot, lambda: app.config.data.spec == spec)  # the run's data, previewed
    assert await wait_for(pilot, lambda: app.form_run == run_id)
    assert await wait_for(pilot, lambda: app.listed_once)


async def on_tab(pilot: Pilot, key: str, focused: str) -> None:
    """Press a tab's digit and wait for the focus to land on the widget its keys act on."""
    await pilot.press(key)
    widget = pilot.app.query_one(focused)
    assert await wait_for(pilot, lambda: pilot.app.focused is widget)


# -- the snapshots ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=lambda size: f"{size[0]}x{size[1]}")
def test_train(snap_compare, handwritten_root, size):
    """Train: a finished run's form, status line, loss and grad-norm curves, and its sample."""
    app = RnnTuiApp(handwritten_root, open_run="snapshot-run", list_interval=60)

    async def run_before(pilot: Pilot) -> None:
        await opened(pilot, "snapshot-run")
        assert "snapshot-run: finished" in str(app.query_one("#run-status").render())
        assert await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "start")
        await pilot.wait_for_animation()  # settled: the form stays at its top, the focused button below

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_help(snap_compare, handwritten_root):
    """F1: the help screen over the Train tab."""
    app = RnnTuiApp(handwritten_root, open_run="snapshot-run", list_interval=60)

    async def run_before(pilot: Pilot) -> None:
        await opened(pilot, "snapshot-run")
        await pilot.press("f1")
        assert await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_runs(snap_compare, handwritten_root):
    """Runs: five hand-written runs, newest first, in every state; ● marks the open one."""
    app = RnnTuiApp(handwritten_root, open_run="snapshot-run", list_interval=60)

    async def run_before(pilot: Pilot) -> None:
        await opened(pilot, "snapshot-run")
        await on_tab(pilot, "5", "#runs-table")
        await pilot.press("down")  # the cursor on the second row

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_inspect(snap_compare, trained_root):
    """Inspect: a 2-layer LSTM traced over "the cat sat", the cursor at t=3, unit 2 selected: the
    token strip, both layers at this step, the unit × time map, the top-k and unit 2's equations."""
    app = RnnTuiApp(trained_root, open_run="lm", list_interval=60)

    async def run_before(pilot: Pilot) -> None:
        await opened(pilot, "lm")
        await on_tab(pilot, "3", "InspectPane")
        pane = app.query_one(InspectPane)
        app.query_one("#ins-text", Input).value = "the cat sat"
        assert await wait_for(pilot, lambda: pane.data is not None and "".join(pane.data.tokens) == "the cat sat")
        pane.focus()
        await pilot.press("right", "right", "right", "down", "down")
        assert pane.t == 3 and pane.unit == 2

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


class FakeClock:
    """perf_counter for the Generate worker: 10 ms a call, so its tokens/s does not depend on the
    machine's speed."""

    def __init__(self) -> None:
        self.ticks = itertools.count()
        self.lock = threading.Lock()

    def perf_counter(self) -> float:
        with self.lock:
            return next(self.ticks) / 100


def test_generate(snap_compare, trained_root, monkeypatch):
    """Generate: a greedy continuation of "the cat" (deterministic), coloured by each token's
    probability, and its status line."""
    monkeypatch.setattr("rnn_tui.tui.panes.generate.time", FakeClock())
    app = RnnTuiApp(trained_root, open_run="lm", list_interval=60)

    async def run_before(pilot: Pilot) -> None:
        await opened(pilot, "lm")
        await on_tab(pilot, "4", "#gen-prompt")
        pane = app.query_one(GeneratePane)
        pane.query_one("#gen-mode").value = "greedy"
        pane.query_one("#gen-length", Input).value = "60"
        await pilot.press(*"the cat", "ctrl+g")
        assert await wait_for(pilot, lambda: pane.status.startswith("done"))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_translate(snap_compare, trained_root):
    """Translate: "I have 3 cats ." by a beam of 5, the 3-best with their scores, the sentence BLEU
    against a reference, and the best translation's attention over the source."""
    app = RnnTuiApp(trained_root, open_run="mt", list_interval=60)

    async def run_before(pilot: Pilot) -> None:
        await opened(pilot, "mt")
        await on_tab(pilot, "6", "#tr-source")
        pane = app.query_one(TranslatePane)
        app.query_one("#tr-reference", Input).value = "我有三只猫。"
        await pilot.press(*"I have 3 cats .", "enter")
        assert await wait_for(pilot, lambda: pane.result is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
