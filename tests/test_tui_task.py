"""Choosing the task in the app (Pilot): the Data tab's task, the built-ins that fit it, the
check of the data against it, the forms re-mounted for it, and a classifier started from the
Train form as a real trainer process that the Train tab follows."""

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Select

from rnn_tui.config import Config
from rnn_tui.data.spec import check_task, resolve
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import SettingError
from rnn_tui.runs.rundir import RunDir
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.train import FORM_SECTIONS, TrainPane
from rnn_tui.tui.widgets.plot import LinePlot
from rnn_tui.tui.widgets.setting_fields import SettingFields, config_fields
from tests.conftest import text_of, wait_for
from tests.test_train_classify import reviews


def options(app, selector) -> list[str]:
    """A Select's options as shown (not the blank one)."""
    return [str(prompt) for prompt, value in app.query_one(selector, Select)._options if value is not Select.NULL]


def shown(app, *ids: str) -> dict[str, bool]:
    """Whether each setting's field (``set-…`` id) is in the app now."""
    return {i: bool(app.query(f"#set-{i}")) for i in ids}


async def choose(pilot, app, selector: str, value: str) -> None:
    """Choose ``value`` in a Select as a user does: open it, move to the option, enter."""
    select = app.query_one(selector, Select)
    select.focus()
    await pilot.press("enter")  # opens the list
    target = [v for _, v in select._options].index(value)
    current = [v for _, v in select._options].index(select.value)  # the blank one is an option too
    keys = ["down"] * (target - current) if target >= current else ["up"] * (current - target)
    await pilot.press(*keys, "enter")
    assert select.value == value


async def test_a_classifier_chosen_and_started_from_the_app_trains_and_the_train_tab_follows_it(tmp_path):
    data = reviews(tmp_path)  # label<TAB>text, 600 rows
    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(100, 40)) as pilot:
        assert await wait_for(pilot, lambda: "python-stdlib" in str(app.sub_title), seconds=30)
        assert app.config.task == "lm" and options(app, "#d-task") == ["lm", "seq2seq", "classify", "forecast"]
        assert shown(app, "train-seq_len", "model-pooling") == {"train-seq_len": True, "model-pooling": False}
        app.query_one("#set-model-hidden", Input).value = "24"  # typed before the task changes: it stays

        await pilot.press("1")
        await choose(pilot, app, "#d-task", "classify")
        error = app.query_one("#data-error")
        assert await wait_for(pilot, lambda: "classification" in str(error.render()), seconds=30)
        assert str(error.render()) == ("builtin:python-stdlib is a text dataset; classification (--task classify) "
                                       "trains on labeled texts (label and text columns, or a folder per class)")
        listed = options(app, "#d-builtin")
        assert listed[:2] == ["parity", "balanced"] and "python-stdlib · text" in listed  # what fits classify first
        assert "sine · series" in listed  # the forecast task's, dimmed

        # both forms show the classifier's settings, and not the language model's
        assert await wait_for(pilot, lambda: bool(app.query("#set-model-pooling")))
        assert shown(app, "model-pooling", "train-class_weights", "data-label_column", "data-text_column",
                     "data-max_tokens", "train-seq_len", "train-batching", "model-tie_weights",
                     "data-src_tokenizer") == {
            "model-pooling": True, "train-class_weights": True, "data-label_column": True, "data-text_column": True,
            "data-max_tokens": True, "train-seq_len": False, "train-batching": False, "model-tie_weights": False,
            "data-src_tokenizer": False}
        assert app.query_one("#set-model-hidden", Input).value == "24"
        assert text_of(app, "#train-task").startswith("classify · builtin:python-stdlib")

        # a labelled file: the preview shows its classes, and the task stays classify
        app.query_one("#d-path", Input).value = str(data)
        app.query_one("#set-data-tokenizer", Select).value = "word"
        await pilot.press("ctrl+r")
        preview = app.query_one("#data-preview")
        assert await wait_for(pilot, lambda: "600 texts · 2 classes" in str(preview.render()), seconds=30)
        assert "neg 300 (50.0%)  pos 300 (50.0%)" in str(preview.render()) and str(error.render()) == ""
        assert app.config.task == "classify" and app.config.data.spec == str(data)

        # a small, quick model; then Start on the Train tab
        values = {"model-embed": "8", "model-cell": "gru", "model-pooling": "max", "train-batch": "16",
                  "train-lr": "0.01", "train-schedule": "constant", "train-steps": "60", "train-eval_interval": "20",
                  "train-log_interval": "10", "train-checkpoint_interval": "20"}
        for key, value in values.items():
            app.query_one(f"#set-{key}").value = value
        await pilot.press("2")
        assert await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "start")
        await pilot.press("s")
        assert await wait_for(pilot, lambda: app.current is not None, seconds=30)
        history = app.histories[app.current]
        assert await wait_for(pilot, lambda: any("val_acc" in r for r in history.val), seconds=120)
        assert await wait_for(pilot, lambda: history.state == "finished", seconds=120)

        run = RunDir(tmp_path / "runs" / app.current)
        saved = Config.load(run.config_path)
        assert saved.task == "classify" and saved.data.spec == str(data) and saved.data.tokenizer == "word"
        assert (saved.model.hidden, saved.model.cell, saved.model.pooling, saved.train.steps) == (24, "gru", "max", 60)
        accuracies = [r["val_acc"] for r in run.read_metrics() if r["event"] == "val"]
        assert len(accuracies) == 3

        # the Train tab: the accuracy curve in the second plot, drawn from the run's records
        plot = app.query_one("#second-plot", LinePlot)
        assert await wait_for(pilot, lambda: plot.series and len(plot.series[0].ys) == 3)
        assert plot.title == "val acc" and list(plot.series[0].ys) == accuracies
        assert app.query_one("#loss-plot", LinePlot).title == "loss (nats/text)"
        assert f"acc {accuracies[-1]:.1%}" in text_of(app, "#run-status")


async def test_a_labels_dataset_sets_classify_and_lm_on_it_says_why_and_starts_nothing(tmp_path):
    data = reviews(tmp_path)
    cfg = Config()
    cfg.data.spec = str(data)  # as `rnn-tui app --data FILE` opens it
    app = RnnTuiApp(tmp_path / "runs", config=cfg, list_interval=60)
    async with app.run_test(size=(100, 40)) as pilot:
        task = app.query_one("#d-task", Select)
        assert await wait_for(pilot, lambda: task.value == "classify", seconds=30)  # the file's kind chose it
        assert app.config.task == "classify" and app.query_one(TrainPane).chosen_task == "classify"
        assert await wait_for(pilot, lambda: bool(app.query("#set-model-pooling")))
        assert "600 texts · 2 classes" in text_of(app, "#data-preview")

        await pilot.press("1")
        await choose(pilot, app, "#d-task", "lm")
        with pytest.raises(RnnTuiError) as refused:
            check_task("lm", resolve(str(data)))
        error = app.query_one("#data-error")
        assert await wait_for(pilot, lambda: str(error.render()) == str(refused.value), seconds=30)
        assert "a language model (--task lm) trains on text" in str(refused.value)
        assert text_of(app, "#data-preview") == ""  # the file's classes, shown for classify, are gone
        assert options(app, "#d-builtin")[0] == "hello" and "parity · labels" in options(app, "#d-builtin")
        assert await wait_for(pilot, lambda: bool(app.query("#set-train-seq_len")))
        assert not app.query("#set-model-pooling") and app.config.task == "lm"

        await pilot.press("2")
        await pilot.press("s")
        assert await wait_for(pilot, lambda: any(str(refused.value) in str(n.message) for n in app._notifications),
                              seconds=30)
        assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
        assert app.current is None


async def test_a_pairs_dataset_sets_seq2seq_and_its_fields(tmp_path):
    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(100, 40)) as pilot:
        assert await wait_for(pilot, lambda: "python-stdlib" in str(app.sub_title), seconds=30)
        await pilot.press("1")
        await choose(pilot, app, "#d-builtin", "builtin:numbers-en-zh")
        assert await wait_for(pilot, lambda: app.config.task == "seq2seq", seconds=30)
        assert app.query_one("#d-task", Select).value == "seq2seq"
        preview = str(app.query_one("#data-preview").render())
        assert "10,000 pairs" in preview and "source:" in preview and "→" in preview
        assert await wait_for(pilot, lambda: bool(app.query("#set-model-attention")))
        assert bool(app.query("#set-data-src_tokenizer")) and not app.query("#set-data-tokenizer")
        assert not app.query("#set-model-pooling") and not app.query("#set-train-seq_len")


class FieldsApp(App[None]):
    def __init__(self, fields: SettingFields) -> None:
        super().__init__()
        self.fields = fields

    def compose(self) -> ComposeResult:
        yield self.fields


def form_fields(task: str):
    first, rest = config_fields(Config(task=task), FORM_SECTIONS)
    return first + rest


async def test_setting_fields_remount_for_another_task_keeping_what_was_typed():
    cfg = Config()
    cfg.model.pooling, cfg.train.seq_len = "mean", 77
    fields = SettingFields(form_fields("lm"), cfg.values())
    assert fields.values()["model.cell"] == "lstm"  # not mounted yet (More settings mount lazily): what it composes with
    app = FieldsApp(fields)
    async with app.run_test(size=(60, 100)) as pilot:
        app.query_one("#set-model-hidden", Input).value = "lots"  # not a number yet: kept as typed
        app.query_one("#set-train-seq_len", Input).value = "50"
        app.query_one("#set-model-cell", Select).value = "gru"

        fields.set_fields(form_fields("classify"))
        with pytest.raises(SettingError, match="hidden units: 'lots' is not a whole number"):
            fields.values()  # at once, while the fields are re-mounted: what they held
        assert await wait_for(pilot, lambda: bool(app.query("#set-model-pooling")))
        assert app.query_one("#set-model-hidden", Input).value == "lots"
        assert app.query_one("#set-model-cell", Select).value == "gru"
        assert app.query_one("#set-model-pooling", Select).value == "mean"  # the config's value
        assert not app.query("#set-train-seq_len")
        app.query_one("#set-model-hidden", Input).value = "32"
        values = fields.values()
        assert values["model.hidden"] == 32 and values["model.cell"] == "gru" and "train.seq_len" not in values

        fields.set_fields(form_fields("lm"))
        assert await wait_for(pilot, lambda: bool(app.query("#set-train-seq_len")))
        assert app.query_one("#set-train-seq_len", Input).value == "50"  # back, as it was typed
        assert fields.values()["train.seq_len"] == 50 and fields.values()["model.hidden"] == 32

        fields.set_values({"train.seq_len": 64})  # a run's config opened: it replaces what was typed
        assert app.query_one("#set-train-seq_len", Input).value == "64"


def monthly(tmp_path, months: int = 120):
    """A CSV of monthly dates and a seasonal series with a trend: month,value."""
    import math

    path = tmp_path / "monthly.csv"
    rows = [f"{2000 + m // 12}-{m % 12 + 1:02d},{100 + m + 20 * math.sin(2 * math.pi * m / 12):.3f}" for m in range(months)]
    path.write_text("month,value\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


async def test_a_series_sets_forecast_and_a_forecaster_started_from_the_app_trains_beside_its_baselines(tmp_path):
    data = monthly(tmp_path)
    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(100, 40)) as pilot:
        assert await wait_for(pilot, lambda: "python-stdlib" in str(app.sub_title), seconds=30)
        assert "sine · series" in options(app, "#d-builtin")  # listed, dimmed: another task's
        await pilot.press("1")
        await choose(pilot, app, "#d-task", "forecast")
        assert options(app, "#d-builtin")[0] == "sine"  # the series first: forecast trains on it
        assert await wait_for(pilot, lambda: bool(app.query("#set-data-window")))
        assert shown(app, "data-window", "data-horizon", "data-season", "data-transform", "data-column",
                     "data-tokenizer", "model-strategy", "model-embed", "train-seq_len") == {
            "data-window": True, "data-horizon": True, "data-season": True, "data-transform": True, "data-column": True,
            "data-tokenizer": False, "model-strategy": True, "model-embed": False, "train-seq_len": False}

        # a file of a series: the preview reads it as the forecast task does
        await pilot.press("2", "1")  # back on the Data tab, its fields mounted
        app.query_one("#d-path", Input).value = str(data)
        for key, value in {"data-window": "12", "data-season": "12", "data-transform": "diff"}.items():
            app.query_one(f"#set-{key}", Input).value = value
        await pilot.press("ctrl+r")
        preview = app.query_one("#data-preview")
        assert await wait_for(pilot, lambda: "120 points of 'value'" in str(preview.render()), seconds=30)
        text = str(preview.render())
        assert str(app.sub_title) == f"data: {data.name} (a series)"  # no run open: the data, read with no tokenizer
        assert "2000-01 … 2009-12" in text and "window 12 → horizon 1 (the transforms use up the first 1)" in text
        assert "train          108 points      95 forecasts" in text  # 120 − 12 for validation; origins 12..106
        assert "validation      12 points      12 forecasts" in text and "├train" in text
        assert app.config.task == "forecast" and str(app.query_one("#data-error").render()) == ""

        values = {"model-cell": "gru", "model-hidden": "8", "train-batch": "16", "train-lr": "0.01",
                  "train-schedule": "constant", "train-steps": "40", "train-eval_interval": "20",
                  "train-log_interval": "10", "train-checkpoint_interval": "20"}
        for key, value in values.items():
            app.query_one(f"#set-{key}").value = value
        await pilot.press("2")
        assert text_of(app, "#train-task").startswith(f"forecast · {data}")
        assert await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "start")
        await pilot.press("s")
        assert await wait_for(pilot, lambda: app.current is not None, seconds=30)
        history = app.histories[app.current]
        assert await wait_for(pilot, lambda: any("val_rmse" in r for r in history.val), seconds=120)
        assert await wait_for(pilot, lambda: history.state == "finished", seconds=120)

        run = RunDir(tmp_path / "runs" / app.current)
        saved = Config.load(run.config_path)
        assert saved.task == "forecast" and saved.data.spec == str(data)
        assert str(app.sub_title) == f"run: {app.current}"  # the header names the run now
        assert (saved.data.window, saved.data.season, saved.data.transform, saved.model.cell, saved.train.steps) == (
            12, 12, "diff", "gru", 40)
        records = run.read_metrics()
        rmses = [r["val_rmse"] for r in records if r["event"] == "val"]
        baselines = next(r for r in records if r["event"] == "start")["baselines"]
        best = min(baselines, key=lambda name: baselines[name]["val_rmse"])
        assert len(rmses) == 2 and set(baselines) == {"persistence", "seasonal_naive", "ar"}

        # the Train tab: the RMSE curve beside the best baseline's, in the series' units
        plot = app.query_one("#second-plot", LinePlot)
        assert await wait_for(pilot, lambda: plot.series and len(plot.series[0].ys) == 2)
        assert plot.title == "val rmse" and list(plot.series[0].ys) == rmses
        assert plot.series[1].ys == (baselines[best]["val_rmse"],) * 2 and plot.series[1].xs == (20, 40)
        assert app.query_one("#loss-plot", LinePlot).title == "loss (MSE, transformed values)"
        status = text_of(app, "#run-status")
        assert f"RMSE {rmses[-1]:.4g} (" in status and f"{baselines[best]['val_rmse']:.4g})" in status
        assert "values/s" in status and "ppl" not in status and plot.series[1].name.endswith("(best baseline)")


async def test_a_builtin_chosen_in_the_data_tab_fills_the_train_form_with_its_recommended_settings(tmp_path):
    from rnn_tui.data.builtin import BUILTINS

    app = RnnTuiApp(tmp_path / "runs", list_interval=60)
    async with app.run_test(size=(100, 40)) as pilot:
        train = app.query_one(TrainPane)
        assert await wait_for(pilot, lambda: train.read_config().model.hidden == 256, seconds=30)  # python-stdlib's
        await pilot.press("1")
        await choose(pilot, app, "#d-builtin", "builtin:hello")
        assert await wait_for(pilot, lambda: train.read_config().model.hidden == 16, seconds=30)
        cfg = train.read_config()
        assert cfg.values() == {**cfg.values(), **{k: v for k, v in BUILTINS["hello"].recommended.items() if k != "task"}}
        assert cfg.task == "lm" and app.query_one("#set-model-hidden", Input).value == "16"  # shown as typed


async def test_an_opened_runs_settings_stay_in_the_train_form_even_after_a_stale_preview(tmp_path):
    from rnn_tui.config import DataConfig
    from rnn_tui.tui.messages import DataPreviewed
    from tests.conftest import handwritten_run

    handwritten_run(tmp_path)  # builtin:arith with the declared defaults, not arith's recommended settings
    app = RnnTuiApp(tmp_path, open_run="snapshot-run", list_interval=60)
    async with app.run_test(size=(100, 40)) as pilot:
        train = app.query_one(TrainPane)
        assert await wait_for(pilot, lambda: app.form_run == "snapshot-run" and app.config.data.spec == "builtin:arith",
                              seconds=30)
        app.post_message(DataPreviewed(DataConfig(spec="builtin:hello"), "lm", None, follow=True))  # asked before it opened
        await pilot.pause(0.3)
        cfg = train.read_config()
        assert (cfg.model.hidden, cfg.model.cell, cfg.train.time) == (512, "lstm", 0.0)
