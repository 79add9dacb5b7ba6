"""SVG snapshots of key screens at a fixed size, from a run directory written by hand (so no
timing or machine noise reaches the picture). On a deliberate change of the UI, regenerate with
`RNN_TUI_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_tui_snapshots.py` and look at the SVGs."""

import os
import re
from pathlib import Path

import pytest

from rnn_tui.tui.app import RnnTuiApp
from tests.conftest import handwritten_run, wait_for

SNAPSHOTS = Path(__file__).parent / "snapshots"


def normalised(svg: str, root: Path) -> str:
    return svg.replace(str(root), "ROOT")


def check(name: str, svg: str, tmp_path: Path) -> None:
    path = SNAPSHOTS / f"{name}.svg"
    if os.environ.get("RNN_TUI_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(svg, encoding="utf-8")
        if not os.environ.get("RNN_TUI_UPDATE_SNAPSHOTS"):
            pytest.fail(f"wrote the first snapshot {path}; look at it, commit it, run again")
    expected = path.read_text(encoding="utf-8")
    if svg != expected:
        actual = tmp_path / f"{name}.actual.svg"
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"{name} differs from {path} (the new one is {actual})")


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
            assert await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        await pilot.pause()
        await pilot.wait_for_animation()
        svg = app.export_screenshot(simplify=True)
    svg = re.sub(r"terminal-\d+", "terminal", normalised(svg, tmp_path))
    check(screen, svg, tmp_path)
