"""The Lab tab (key 9): gradients through time on a log scale (fresh cells overlaid, the opened
run's latest checkpoint), an arena's table and curves, the units table that opens Inspect."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from rnn_tui.train.arena import ArenaSettings, run_arena
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.inspect import InspectPane
from rnn_tui.tui.panes.lab import LESSON_D, ArenaSection, GradientsSection, UnitsSection
from rnn_tui.tui.widgets.plot import LinePlot
from tests.conftest import train_tiny_run, wait_for
from tests.test_arena import tiny_config

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


@pytest.fixture(scope="module")
def arena_root(tmp_path_factory):
    """An arena of rnn and lstm, 2 seeds × 8 steps on a small text, trained in-process (the code
    path of `rnn-tui arena`)."""
    root = tmp_path_factory.mktemp("lab")
    text = root / "text.txt"
    text.write_text("the cat sat on the mat, the dog sat on the log.\n" * 120, encoding="utf-8")
    runs = root / "runs"
    run_arena(tiny_config(str(text), steps=8), ArenaSettings(cells="rnn,lstm", seeds=2), runs, name="duel", say=print)
    return runs


async def test_key_9_opens_the_lab_and_the_lesson_is_drawn_on_a_log_scale(tmp_path):
    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("9")
        assert app.query_one("TabbedContent").active == "lab"
        section = app.query_one(GradientsSection)
        assert await wait_for(pilot, lambda: isinstance(app.focused, GradientsSection))
        assert await wait_for(pilot, lambda: len(section.fresh) == 3 and all(section.fresh.values()), seconds=60)
        await pilot.pause()
        plot = app.query_one("#lab-grad-plot", LinePlot)
        assert plot.log_y and plot.points_drawn > 0
        curves = {s.name: s for s in plot.series}
        assert set(curves) == {"rnn 64", "lstm 64 fb0", "lstm 64 fb1"}
        rnn, fb1 = curves["rnn 64"].ys[LESSON_D], curves["lstm 64 fb1"].ys[LESSON_D]
        assert rnn < 1e-8 and fb1 > 1e3 * rnn  # the tanh RNN's gradient vanishes; a forget bias of 1 keeps it
        assert curves["rnn 64"].note == f"{rnn:.2e}"  # the legend: each curve at the cursor's d
        section.focus()
        await pilot.press("up", "up")  # the reading under the plot: the newest curve's, ↑/↓ another's
        reading = text_of(app, "#lab-grad-reading")
        assert reading.startswith("rnn 64 (1/3, ↑/↓): after 99 steps back") and "vanishes" in reading
        await pilot.press("left")
        assert section.d == LESSON_D - 1 and curves["rnn 64"].ys[LESSON_D - 1] == plot.series[0].ys[LESSON_D - 1]
        assert f"at d={LESSON_D - 1}" in plot.title

        # another cell from the form; a refused value is one line and its field is marked
        app.query_one("#lab-hidden").value = "lots"
        await pilot.click("#lab-add")
        assert "lots" in text_of(app, "#lab-grad-error") and app.query_one("#lab-hidden").has_class("-invalid")
        app.query_one("#lab-hidden").value = "32"
        app.query_one("#lab-cell").value = "gru"
        # a Button ignores clicks during its 0.2 s press effect (Textual's Button._on_click)
        assert await wait_for(pilot, lambda: not app.query_one("#lab-add").has_class("-active"))
        await pilot.click("#lab-add")
        assert await wait_for(pilot, lambda: any(s.name == "gru 32" and s.ys for s in plot.series), seconds=30)
        assert not app.query_one("#lab-hidden").has_class("-invalid")
        section.focus()
        await pilot.press("c")  # clear the fresh cells
        assert plot.series == ()


async def test_the_opened_runs_latest_checkpoint_is_drawn_and_followed(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    train_tiny_run(runs, "(a [b {c} d] e)\n" * 80, "lm")
    app = RnnTuiApp(runs, open_run="lm")
    async with app.run_test(size=(100, 30)) as pilot:
        section = app.query_one(GradientsSection)
        assert await wait_for(pilot, lambda: section.run is not None)
        await pilot.pause(0.3)
        assert section.run_result is None  # off screen: nothing computed
        await pilot.press("9")
        assert await wait_for(pilot, lambda: section.run_result is not None, seconds=60)
        run_id, step, result = section.run_result
        assert (run_id, step) == ("lm", 30) and result["loss"].startswith("L_T = −log p")
        plot = app.query_one("#lab-grad-plot", LinePlot)
        assert plot.series[0].name == "lm @30" and plot.series[0].ys == tuple(result["decay"]["mean"])
        # a newer checkpoint (what the follower reports while training): the curve is computed again
        job = section.job
        history = app.histories["lm"]
        history.checkpoint_step = 31
        app.current_changed(history)
        assert section.job == job + 1
        assert await wait_for(pilot, lambda: section.run_result[1] == 31, seconds=60)


async def test_an_arenas_table_and_curves(arena_root):
    app = RnnTuiApp(arena_root)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("9", "a")
        section = app.query_one(ArenaSection)
        assert await wait_for(pilot, lambda: section.table is not None, seconds=30)
        await pilot.pause()
        assert app.query_one("#lab-arena-pick").value == "duel"
        grid = app.query_one("#lab-arena-table", DataTable)
        rows = [grid.get_row_at(k) for k in range(grid.row_count)]
        assert [r[0] for r in rows] == ["rnn", "lstm"] and all(r[-1] == "2/2" for r in rows)
        assert [str(c.label) for c in grid.columns.values()][:4] == ["cell", "hidden", "params", "best val loss"]
        assert all(" ± " in r[3] for r in rows)  # mean ± sd over the two seeds
        assert "arena duel" in text_of(app, "#lab-arena-head")
        plot = app.query_one("#lab-arena-plot", LinePlot)
        assert len(plot.series) == 4 and plot.points_drawn > 0  # a validation curve per run
        by_cell = {s.color for s in plot.series if s.name == "rnn"}, {s.color for s in plot.series if s.name == "lstm"}
        assert all(len(colors) == 1 for colors in by_cell) and by_cell[0] != by_cell[1]  # one colour per cell
        assert [s.name for s in plot.series if s.legend] == ["rnn", "lstm"]


@pytest.fixture(scope="module")
def bracket_runs(tmp_path_factory):
    runs = tmp_path_factory.mktemp("units") / "runs"
    runs.mkdir()
    train_tiny_run(runs, "(a [b {c} d] e)\n" * 200, "lm")
    return runs


async def found_units(pilot, app) -> UnitsSection:
    """Lab → Units → f: the units command's search, on the opened run's validation text."""
    await pilot.press("9", "u")
    section = app.query_one(UnitsSection)
    assert await wait_for(pilot, lambda: isinstance(app.focused, UnitsSection))
    await pilot.press("f")
    assert await wait_for(pilot, lambda: app.query_one("#lab-units-table", DataTable).row_count > 0, seconds=60)
    return section


async def test_choosing_a_unit_opens_inspect_on_it(bracket_runs):
    app = RnnTuiApp(bracket_runs, open_run="lm")
    async with app.run_test(size=(100, 30)) as pilot:
        section = await found_units(pilot, app)
        assert section.rows and {row[0] for row in section.rows} >= {"depth"}  # the hypotheses the text varies in
        _, layer, vector, unit, _, _ = section.rows[1]
        app.query_one("#lab-units-table", DataTable).focus()
        await pilot.press("down", "enter")
        assert app.query_one("TabbedContent").active == "inspect"
        inspect = app.query_one(InspectPane)
        assert (inspect.layer_index, inspect.vector, inspect.unit) == (layer, vector, unit)
        assert await wait_for(pilot, lambda: inspect.data is not None, seconds=30)
        await pilot.pause()
        assert (inspect.vector, inspect.unit) == (vector, unit)  # kept once the trace arrived
        assert f"vector {vector} · unit {unit}" in text_of(app, "#ins-header")


async def test_r_finds_the_units_again_by_spearmans_rank_correlation(bracket_runs):
    """`r` in the Units section: the table found again as `rnn-tui units --rank` finds it, headed ρ."""
    from rnn_tui.api import load_lm
    from rnn_tui.inspect.correlate import analysis_text, find_units
    from rnn_tui.tui.panes.lab import unit_rows

    app = RnnTuiApp(bracket_runs, open_run="lm")
    async with app.run_test(size=(100, 30)) as pilot:
        section = await found_units(pilot, app)
        pearson = section.rows
        await pilot.press("r")
        assert await wait_for(pilot, lambda: section.rows != pearson, seconds=60)
        table = app.query_one("#lab-units-table", DataTable)
        assert [str(c.label) for c in table.columns.values()][4] == "ρ"
        loaded = load_lm(bracket_runs / "lm")
        text, where = analysis_text(loaded)
        expected = unit_rows(find_units(loaded, text, where=where, rank=True))
        assert [row[:4] for row in section.rows] == [row[:4] for row in expected]
        assert [row[4:] for row in section.rows] == pytest.approx([row[4:] for row in expected], abs=1e-9)
        await pilot.press("r")  # and back
        assert await wait_for(pilot, lambda: section.rows == pearson, seconds=60)
        assert [str(c.label) for c in table.columns.values()][4] == "r"
