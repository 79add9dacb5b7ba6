"""The Recipes screen with Pilot: choose a recipe, one key, and a run starts with its settings."""

from textual.widgets import Input, OptionList, Select

from rnn_tui import recipes
from rnn_tui.runs.rundir import RunDir
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.screens.recipes import RecipesScreen
from tests.conftest import wait_for


async def test_choosing_hello_fills_the_form_and_starts_a_run_with_its_settings(tmp_path, monkeypatch):
    shipped = recipes.shipped()
    tiny = [recipes.with_changes(r, {"train.steps": 20}) if r.name == "hello" else r for r in shipped]  # a tiny budget
    monkeypatch.setattr(recipes, "shipped", lambda: tiny)
    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f2")
        assert await wait_for(pilot, lambda: isinstance(app.screen, RecipesScreen))
        detail = app.screen.query_one("#recipe-detail")
        assert "reproduces:" in str(detail.render())
        names = [r.name for r in tiny]
        options = app.screen.query_one(OptionList)
        options.highlighted = names.index("hello")
        await pilot.pause()
        assert "val_loss ≤ 0.05" in str(detail.render()) and "--data builtin:hello" in str(detail.render())
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: app.current is not None, seconds=30)
        assert app.query_one("TabbedContent").active == "train"
        # the form shows the recipe's settings
        assert app.query_one("#set-model-cell", Select).value == "rnn"
        assert app.query_one("#set-model-hidden", Input).value == "16"
        assert app.query_one("#set-model-embed", Input).value == "0"
        history = app.histories[app.current]
        assert await wait_for(pilot, lambda: history.state == "finished", seconds=120)
        cfg = RunDir.open(app.current, tmp_path / "runs").config()
        assert cfg.data.spec == "builtin:hello" and cfg.task == "lm"
        assert (cfg.model.cell, cfg.model.hidden, cfg.model.embed, cfg.train.seq_len, cfg.train.steps) == ("rnn", 16, 0, 12, 20)


async def test_a_recipe_without_its_data_says_so_and_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CACHE", str(tmp_path / "empty-cache"))
    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("f2")
        assert await wait_for(pilot, lambda: isinstance(app.screen, RecipesScreen))
        app.screen.query_one(OptionList).highlighted = [r.name for r in recipes.shipped()].index("shakespeare")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, RecipesScreen)
        shown = [n.message for n in app._notifications]
        assert any("rnn-tui data get tinyshakespeare" in m for m in shown), shown
        assert app.current is None and not (tmp_path / "runs").exists()
