"""The app with Pilot, against runs trained in a fixture (no live trainer during key presses)."""

import math
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rnn_tui.api import load_run
from rnn_tui.tui.app import RnnTuiApp, default_config
from rnn_tui.tui.model_cache import ModelCache
from rnn_tui.tui.palette import format_number
from rnn_tui.tui.panes.runs import RunsPane
from rnn_tui.tui.panes.train import TrainPane
from rnn_tui.tui.widgets.plot import LinePlot
from tests.conftest import handwritten_run, train_tiny_run, wait_for


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("appruns")
    train_tiny_run(root, "the cat sat on the mat.\n" * 200, "fixture", steps=40)
    return root


def status_text(app) -> str:
    return str(app.query_one("#run-status").render())


async def test_opens_on_train_with_the_default_dataset(tmp_path):
    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(100, 32)) as pilot:
        assert app.query_one("TabbedContent").active == "train"
        assert "press s" in status_text(app)
        assert await wait_for(pilot, lambda: "python-stdlib" in str(app.sub_title))
        await pilot.press("1")
        assert app.query_one("TabbedContent").active == "data"
        preview = str(app.query_one("#data-preview").render())
        assert "tokens" in preview and "vocabulary" in preview


async def test_runs_tab_lists_and_opens_a_run(runs_root):
    app = RnnTuiApp(runs_root, list_interval=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("5")
        assert app.query_one("TabbedContent").active == "runs"
        assert await wait_for(pilot, lambda: len(app.query_one(RunsPane).rows) == 1)
        assert app.query_one(RunsPane).rows[0]["state"] == "finished"
        app.query_one("#runs-table").focus()
        await pilot.press("enter")
        assert app.query_one("TabbedContent").active == "train"
        assert await wait_for(pilot, lambda: "fixture: finished" in status_text(app))
        plot = app.query_one("#loss-plot", LinePlot)
        assert await wait_for(pilot, lambda: len(plot.series) == 2)  # train and val curves
        assert plot.series[0].xs[-1] == 40
        table = app.query_one("#runs-table")
        assert app.query_one(RunsPane).shown == {"fixture": "●"} and table.get_cell_at((0, 0)) == "●"  # open in Train


async def test_open_run_from_the_command_line(runs_root):
    app = RnnTuiApp(runs_root, open_run="fixture")
    async with app.run_test(size=(100, 30)) as pilot:
        assert await wait_for(pilot, lambda: "step 40" in status_text(app))


async def test_form_errors_are_one_line_and_start_nothing(tmp_path):
    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one("#set-model-hidden").value = "lots"
        app.query_one(TrainPane).action_start()
        await pilot.pause()
        assert "hidden units: 'lots' is not a whole number" in str(app.query_one("#form-error").render())
        assert app.query_one("#set-model-hidden").has_class("-invalid")
        app.query_one("#set-model-hidden").value = "64"
        app.query_one("#set-train-lr").value = "-1"
        app.query_one(TrainPane).action_start()
        await pilot.pause()
        error = str(app.query_one("#form-error").render())
        assert "learning rate must be between" in error and "--lr" not in error  # words, not a flag
        assert app.query_one("#set-train-lr").has_class("-invalid")
        assert not app.query_one("#set-model-hidden").has_class("-invalid")
        assert app.query_one("#train-more").collapsed
        app.query_one("#set-train-lr").value = "0.01"
        assert await wait_for(pilot, lambda: bool(app.query("#set-train-momentum")))  # mounted after the first frame
        app.query_one("#set-train-momentum").value = "2"  # under "More settings": they open to show it
        app.query_one(TrainPane).action_start()
        await pilot.pause()
        assert "momentum must be between 0 and 0.999; got 2" in str(app.query_one("#form-error").render())
        assert not app.query_one("#train-more").collapsed and app.query_one("#set-train-momentum").has_class("-invalid")
        assert not (tmp_path / "runs").exists()


async def test_help_quit_and_a_tiny_terminal(tmp_path):
    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(50, 15)) as pilot:
        assert app.screen.has_class("-too-narrow") and app.screen.has_class("-too-short")
        assert app.query_one("#too-small").display and not app.query_one("TabbedContent").display
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert not app.screen.has_class("-too-narrow") and not app.screen.has_class("-too-short")
        assert not app.query_one("#too-small").display
        await pilot.press("f1")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ != "HelpScreen"
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_the_current_run_drives_inspect_and_generate(runs_root):
    from rnn_tui.tui.panes.generate import GeneratePane
    from rnn_tui.tui.panes.inspect import InspectPane

    app = RnnTuiApp(runs_root, open_run="fixture")
    loads = []
    app.models = ModelCache(load=lambda path: loads.append(path) or load_run(path))
    async with app.run_test(size=(110, 34)) as pilot:
        await pilot.press("3")
        assert app.query_one("TabbedContent").active == "inspect"
        inspect = app.query_one(InspectPane)
        assert await wait_for(pilot, lambda: inspect.data is not None, seconds=20)
        assert inspect.path.endswith("fixture") and inspect.step == 40
        await pilot.press("4")
        assert app.query_one("TabbedContent").active == "generate"
        generate = app.query_one(GeneratePane)
        assert "run fixture · checkpoint at step 40" in str(app.query_one("#gen-run").render())
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: len(generate.generated) > 0, seconds=20)
    assert loads == [str(runs_root / "fixture")]  # one load of the checkpoint for both tabs


def test_the_model_cache_loads_each_checkpoint_once_whatever_the_threads():
    calls = []

    def slow_load(path):
        calls.append(path)
        time.sleep(0.2)  # a second thread asks while the first is still loading
        return object()

    cache = ModelCache(load=slow_load, size=2)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: cache.get("a", 1), range(4)))
    assert calls == ["a"] and all(r is results[0] for r in results)
    cache.get("a", 2)  # the run's next checkpoint
    cache.get("b", None)
    assert calls == ["a", "a", "b"] and not cache.holds("a", 1) and cache.holds("a", 2) and cache.holds("b", None)


async def test_opening_a_run_fills_the_train_form_with_its_config(runs_root, tmp_path):
    shutil.copytree(runs_root / "fixture", tmp_path / "fixture")
    app = RnnTuiApp(tmp_path, open_run="fixture", list_interval=0.2)
    async with app.run_test(size=(100, 40)) as pilot:
        assert await wait_for(pilot, lambda: app.query_one("#set-model-hidden").value == "32")  # small_config's size
        assert app.query_one("#set-model-embed").value == "16" and app.query_one("#set-train-schedule").value == "constant"
        app.query_one("#set-model-hidden").value = "48"
        shutil.copytree(runs_root / "fixture", tmp_path / "another")
        table = app.query_one("#runs-table")
        assert await wait_for(pilot, lambda: table.row_count == 2)  # a listing after the edit arrived
        assert app.query_one("#set-model-hidden").value == "48"  # the user's edit stays


async def test_the_palette_screenshot_lands_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(80, 24)) as pilot:
        app.deliver_screenshot()  # what the palette's "Screenshot" runs
        def written() -> list:  # delivered by a thread: wait for the whole file
            return [p for p in tmp_path.glob("*.svg") if p.read_text(encoding="utf-8").rstrip().endswith("</svg>")]

        assert await wait_for(pilot, written)
        saved = written()
        assert len(saved) == 1 and "rnn-tui" in saved[0].read_text(encoding="utf-8")


async def test_the_learning_rate_dialog_refuses_what_the_setting_refuses(tmp_path):
    from textual.widgets import Input

    from rnn_tui.tui.screens.dialogs import LrScreen

    app = RnnTuiApp(tmp_path / "runs")
    chosen = []
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(LrScreen(0.002), chosen.append)
        await pilot.pause()
        box = app.screen.query_one("#lr-input", Input)
        assert box.value == "0.002"
        for typed, error in [("fast", "learning rate: 'fast' is not a number"),
                             ("-1", "learning rate must be between 1e-08 and 100; got -1")]:
            box.value = typed
            await pilot.press("enter")
            assert error in str(app.screen.query_one("#lr-error").render()) and not chosen
        box.value = "0.01"
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: chosen == [0.01])


def plot_text(plot: LinePlot) -> str:
    """What the plot shows, as text (title and legend included)."""
    return "\n".join(plot.render_line(y).text for y in range(plot.size.height))


async def test_v_cycles_the_second_curve_of_a_finished_run(tmp_path):
    handwritten_run(tmp_path)  # finished: no snapshot will ever come to redraw the plot
    app = RnnTuiApp(tmp_path, open_run="snapshot-run", list_interval=60)
    async with app.run_test(size=(110, 34)) as pilot:
        plot = app.query_one("#second-plot", LinePlot)
        assert await wait_for(pilot, lambda: "━ grad_norm" in plot_text(plot))
        first = plot_text(plot)
        assert first.startswith("grad norm") and "━ lr" not in first
        await pilot.press("v")
        assert await wait_for(pilot, lambda: plot_text(plot) != first)
        shown = plot_text(plot)
        assert shown.startswith("lr") and "━ lr 0.002" in shown and "grad_norm" not in shown
        assert [(s.name, set(s.ys)) for s in plot.series] == [("lr", {0.002})]
        await pilot.press("v")  # ppl: exp(loss) of the last train record, 1.5 + 2.7·e^(−1000/150)
        assert await wait_for(pilot, lambda: plot_text(plot).startswith("ppl"))
        shown = plot_text(plot)
        ppl = math.exp(1.5 + 2.7 * math.exp(-1000 / 150))
        assert f"━ ppl {format_number(ppl, 4)}" in shown and "━ lr" not in shown
        await pilot.press("v", "v")  # val_bleu: a language model has none, so no value
        assert await wait_for(pilot, lambda: plot_text(plot).startswith("val bleu"))
        assert "━ val_bleu –" in plot_text(plot)


async def test_esc_leaves_a_text_field_so_the_tab_keys_work(tmp_path):
    from textual.widgets import Input

    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("6")  # Translate: the focus lands in the source field
        assert await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "tr-source")
        await pilot.press("3")  # typed into the field, as text
        assert app.query_one("TabbedContent").active == "translate" and app.query_one("#tr-source", Input).value == "3"
        await pilot.press("escape", "3")
        assert await wait_for(pilot, lambda: app.query_one("TabbedContent").active == "inspect")


async def test_starting_on_bad_data_says_why_and_creates_no_run(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    cfg = default_config()
    cfg.data.spec = str(empty)
    app = RnnTuiApp(tmp_path / "runs", config=cfg)
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one(TrainPane).action_start()
        assert await wait_for(pilot, lambda: any("empty" in str(n.message) for n in app._notifications), seconds=30)
        assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def footer_keys(app) -> dict[str, str]:
    """The bindings the footer shows now: key -> description."""
    return {key: b.binding.description for key, b in app.screen.active_bindings.items() if b.binding.show}


async def test_inspect_steps_with_the_keys_its_footer_shows_whatever_has_focus(runs_root):
    from rnn_tui.tui.panes.inspect import InspectPane

    app = RnnTuiApp(runs_root, open_run="fixture", list_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        pane = app.query_one(InspectPane)
        assert await wait_for(pilot, lambda: pane.data is not None and pane.data.length > 3, seconds=20)
        assert app.focused is pane and footer_keys(app)["right"] == "Next"  # on entry: → steps
        await pilot.press("right")
        assert pane.t == 1

        await pilot.click("#ins-text")  # in the text box → moves its text cursor, so the footer
        assert app.focused.id == "ins-text"  # shows no step key, nor any other key the box types
        shown = footer_keys(app)
        assert shown["enter"] == "Step through the tokens"
        assert not {"left", "right", "up", "down", "slash", "v", "a"} & set(shown)
        await pilot.press("right", "right")
        assert pane.t == 1
        await pilot.press("enter")  # the keys back to the strip, and a hint says so
        assert await wait_for(pilot, lambda: app.focused is pane)
        assert any("← → step through the tokens" in str(n.message) for n in app._notifications)
        assert footer_keys(app)["right"] == "Next"
        await pilot.press("right")
        assert pane.t == 2

        await pilot.press("tab")  # from the strip, tab goes to the text; esc comes back as enter does
        assert app.focused.id == "ins-text"
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: app.focused is pane)
        await pilot.press("right", "down")
        assert pane.t == 3 and pane.unit == 1


async def test_inspect_says_a_new_run_is_waiting_for_its_first_checkpoint_and_loads_it_when_it_lands(runs_root, tmp_path):
    import json

    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.tui.panes.inspect import InspectPane
    from tests.conftest import hold_lock_in_child

    shutil.copytree(runs_root / "fixture", tmp_path / "live")
    run = RunDir(tmp_path / "live")
    (run.path / "checkpoints").rename(tmp_path / "saved-later")  # a trainer that has saved none yet
    status = json.loads(run.status_path.read_text())
    run.status_path.write_text(json.dumps({**status, "state": "running"}))
    child = hold_lock_in_child(run)  # its trainer, alive
    try:
        app = RnnTuiApp(tmp_path, open_run="live", list_interval=60)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("3")
            pane = app.query_one(InspectPane)
            header = app.query_one("#ins-header")
            assert await wait_for(pilot, lambda: "waiting for its first checkpoint" in str(header.render()))
            assert str(header.render()) == "training: waiting for its first checkpoint (saved at its first evaluation)"
            assert len(str(header.render())) <= 78  # one line at 80 columns
            assert not app.query_one("#ins-message").display and pane.data is None  # one line: no error beside it

            (tmp_path / "saved-later").rename(run.path / "checkpoints")  # the first checkpoint lands
            assert await wait_for(pilot, lambda: pane.data is not None, seconds=20)  # traced, no key pressed
            assert pane.step == 40 and str(header.render()).startswith("t=0 token ")
            assert not app.query_one("#ins-message").display
    finally:
        child.kill()
        child.wait()


async def test_the_header_names_the_opened_run_not_the_data_tab_s_dataset(runs_root, tmp_path):
    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: str(app.sub_title) == "data: builtin:python-stdlib (char)")  # none open: the data
        assert await wait_for(pilot, lambda: bool(app.query("#set-train-momentum")))  # the form built (leaving while
        # its Selects mount fails inside Textual's Select, seen once under load)
    app = RnnTuiApp(runs_root, open_run="fixture", list_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: app.form_run == "fixture")  # its data in the Data tab, previewed
        await pilot.press("1")
        app.query_one("#d-builtin").value = "builtin:arith"  # another dataset chosen for the next run
        assert await wait_for(pilot, lambda: app.config.data.spec == "builtin:arith", seconds=20)
        assert str(app.sub_title) == "run: fixture"
        assert str(app.query_one("HeaderTitle").render()) == "rnn-tui — run: fixture"


async def test_the_train_form_opens_at_its_top_at_80x24(tmp_path):
    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await wait_for(pilot, lambda: "python-stdlib" in str(app.sub_title))  # previewed, the form set for it
        assert await wait_for(pilot, lambda: bool(app.query("#set-train-momentum")))  # "More settings" mounted
        await pilot.pause(0.3)
        await pilot.wait_for_animation()
        assert app.focused is app.query_one("#start")  # s starts at once, from the first frame
        form, cell = app.query_one("#train-form"), app.query_one("#set-model-cell")
        assert form.scroll_y == 0 and form.max_scroll_y > 0  # the form does not fit, and shows its top
        assert app.screen.find_widget(cell).region.y < 24 and cell.region in app.screen.region  # on screen
        await pilot.press("3", "2")  # back on Train: still its top
        await pilot.wait_for_animation()
        assert form.scroll_y == 0
