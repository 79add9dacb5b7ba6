"""The Runs tab's lister never dies: a corrupt run is an unreadable row, the listing follows
corruption and repair, and a round that fails as a whole is told once while the listing goes on."""

from __future__ import annotations

import pytest

from rnn_tui.runs import rundir
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.runs import RunsPane
from tests.conftest import wait_for
from tests.test_listing import finished_run


def states(app: RnnTuiApp) -> dict[str, str]:
    return {r["id"]: str(r["state"]) for r in app.query_one(RunsPane).rows}


def recording_notices(app: RnnTuiApp) -> list[str]:
    """Every message the app notifies, in order (the app still shows them)."""
    told: list[str] = []
    notify = app.notify

    def record(message, *args, **kwargs):
        told.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = record  # type: ignore[method-assign]
    return told


async def test_a_corrupt_run_is_a_row_and_the_list_follows_damage_and_repair(tmp_path):
    good = finished_run(tmp_path, "good")
    bad = finished_run(tmp_path, "bad")
    config = bad.config_path.read_text()
    bad.config_path.write_text("model = 5\n")
    app = RnnTuiApp(tmp_path, list_interval=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        assert await wait_for(pilot, lambda: states(app) == {"good": "finished", "bad": "unreadable"})
        table = app.query_one("#runs-table")
        row = [r["id"] for r in app.query_one(RunsPane).rows].index("bad")
        assert str(table.get_cell_at((row, 2))) == "unreadable" and str(table.get_cell_at((row, 6))).startswith("config.toml")

        good.status_path.write_text("[]")  # a further corruption
        assert await wait_for(pilot, lambda: states(app) == {"good": "unreadable", "bad": "unreadable"})
        bad.config_path.write_text(config)  # a repair
        assert await wait_for(pilot, lambda: states(app) == {"good": "unreadable", "bad": "finished"})
        good.write_status(state="stopped", step=3)
        assert await wait_for(pilot, lambda: states(app) == {"good": "stopped", "bad": "finished"})
        assert app.is_running


async def test_a_runs_folder_that_cannot_be_read_is_told_once_and_the_listing_goes_on(tmp_path):
    root = tmp_path / "runs"
    root.write_text("a file where the runs folder should be")
    app = RnnTuiApp(root, list_interval=0.1)
    told = recording_notices(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        assert await wait_for(pilot, lambda: any("cannot read runs folder" in m for m in told))
        await pilot.pause(0.5)  # several more rounds fail the same way
        assert [m for m in told if "runs folder" in m] == [f"cannot read runs folder {root}: Not a directory"]
        root.unlink()
        finished_run(root, "later")
        assert await wait_for(pilot, lambda: states(app) == {"later": "finished"})


async def test_an_unexpected_error_in_a_round_is_told_once_and_the_listing_goes_on(tmp_path, monkeypatch):
    finished_run(tmp_path, "good")
    real_list_runs = rundir.list_runs
    rounds = []

    def failing_then_fine(root):  # the lister imports list_runs from rundir at each start
        rounds.append(root)
        if len(rounds) <= 4:
            raise RuntimeError("disk on fire")
        return real_list_runs(root)

    monkeypatch.setattr(rundir, "list_runs", failing_then_fine)
    app = RnnTuiApp(tmp_path, list_interval=0.1)
    told = recording_notices(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        assert await wait_for(pilot, lambda: states(app) == {"good": "finished"})
        assert len(rounds) > 4
        assert [m for m in told if "disk on fire" in m] == ["listing the runs failed: RuntimeError: disk on fire"]


@pytest.mark.parametrize("key", ["enter", "o", "r"])
async def test_choosing_an_unreadable_run_says_why(tmp_path, key):
    finished_run(tmp_path, "good")
    bad = finished_run(tmp_path, "bad")
    bad.config_path.write_bytes(b"\xff\xfe not toml")
    app = RnnTuiApp(tmp_path, list_interval=0.2)
    told = recording_notices(app)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        assert await wait_for(pilot, lambda: states(app) == {"good": "finished", "bad": "unreadable"})
        app.query_one("#runs-table").focus()
        assert app.query_one(RunsPane).rows[0]["id"] == "bad"  # newest first
        await pilot.press(key)
        assert await wait_for(pilot, lambda: any("unreadable" in m for m in told))
        assert told[-1].startswith("run bad is unreadable: config.toml: not valid TOML")
        assert app.query_one("TabbedContent").active == "runs" and app.current is None  # nothing opened or started
