"""SVG snapshots of key screens at a fixed size, from a run directory written by hand (so no
timing or machine noise reaches the picture). On a deliberate change of the UI, regenerate with
`RNN_TUI_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_tui_snapshots.py` and look at the SVGs."""

import json
import math
import os
import re
from pathlib import Path

import pytest

from rnn_tui.config import Config
from rnn_tui.runs.rundir import RunDir
from rnn_tui.tui.app import RnnTuiApp
from tests.conftest import wait_for

SNAPSHOTS = Path(__file__).parent / "snapshots"


def handwritten_run(root: Path) -> RunDir:
    """A finished run whose curves follow a formula: loss 4.2 → 1.5, val a little above."""
    cfg = Config()
    cfg.data.spec = "builtin:arith"
    run = RunDir.create(root, cfg, name="snapshot-run")
    for step in range(10, 1001, 10):
        loss = 1.5 + 2.7 * math.exp(-step / 150)
        run.append_metric({"event": "train", "step": step, "epoch": step / 500, "elapsed": step / 10, "loss": loss,
                           "ppl": math.exp(loss), "bpt": loss / math.log(2), "grad_norm": 0.3 + 0.5 * math.exp(-step / 80),
                           "clip_frac": 0.0, "lr": 0.002, "tokens_per_s": 20000.0, "progress": step / 1000, "eta_s": 0.0})
        if step % 100 == 0:
            run.append_metric({"event": "val", "step": step, "epoch": step / 500, "elapsed": step / 10,
                               "val_loss": loss + 0.1, "val_ppl": math.exp(loss + 0.1), "val_bpt": (loss + 0.1) / math.log(2),
                               "best": True, "lr_reduced": False})
    run.append_sample({"event": "sample", "step": 1000, "epoch": 2.0, "elapsed": 100.0, "prime": "12+3",
                       "text": "4=46\n7+5=12\n", "temperature": 0.8})
    status = json.loads(run.status_path.read_text())
    status.update(state="finished", step=1000, epoch=2.0, best_val_loss=1.6, pid=0, heartbeat=0, reason="budget reached")
    run.status_path.write_text(json.dumps(status))
    return run


def normalised(svg: str, root: Path) -> str:
    return svg.replace(str(root), "ROOT")


def check(name: str, svg: str) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("RNN_TUI_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(svg, encoding="utf-8")
        if not os.environ.get("RNN_TUI_UPDATE_SNAPSHOTS"):
            pytest.fail(f"wrote the first snapshot {path}; look at it, commit it, run again")
    expected = path.read_text(encoding="utf-8")
    if svg != expected:
        (Path("/tmp") / f"{name}.actual.svg").write_text(svg, encoding="utf-8")
        pytest.fail(f"{name} differs from {path} (the new one is /tmp/{name}.actual.svg)")


@pytest.mark.parametrize("screen", ["train", "help"])
async def test_snapshot(tmp_path, screen):
    root = tmp_path / "runs"
    handwritten_run(root)
    app = RnnTuiApp(root, open_run="snapshot-run", list_interval=60)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: "snapshot-run: finished" in str(app.query_one("#run-status").render()))
        assert await wait_for(pilot, lambda: "python-stdlib" in str(app.sub_title))  # the data preview arrived
        assert await wait_for(pilot, lambda: app.form_run == "snapshot-run")  # the form shows the run's config
        assert await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "start")
        await pilot.wait_for_animation()  # the form scrolls the focused button into view
        if screen == "help":
            await pilot.press("f1")
        await pilot.pause(0.3)
        await pilot.wait_for_animation()
        svg = app.export_screenshot(simplify=True)
    svg = re.sub(r"terminal-\d+", "terminal", normalised(svg, tmp_path))
    check(screen, svg)
