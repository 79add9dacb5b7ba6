"""The Classify tab with Pilot, and a classifier in the other tabs, against small runs trained in
a fixture (no live trainer)."""

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from rnn_tui.api import load_classifier
from rnn_tui.runs.rundir import RunDir
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.classify import BAR, NO_RUN, ClassifyPane, bar
from rnn_tui.tui.panes.generate import GeneratePane
from rnn_tui.tui.panes.inspect import InspectPane
from rnn_tui.tui.panes.train import SECOND_PLOT, TrainPane
from rnn_tui.tui.panes.translate import TranslatePane
from tests.conftest import console_runs, history_of, text_of, wait_for
from tests.test_train_classify import classify_config, reviews


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cl")
    return console_runs(root, cls=classify_config(str(reviews(root))))


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ClassifyPane()


async def classify(pilot, app, text) -> ClassifyPane:
    """Type the text, press enter and wait for the result (or the error line)."""
    pane = app.query_one(ClassifyPane)
    app.query_one("#cl-text", Input).value = text
    job = pane.job
    app.query_one("#cl-text", Input).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.query_one("#cl-error").display
                   or (pane.job > job and pane.result is not None and pane.result["text"] == text), seconds=20)
    return pane


def test_bar_is_eighths_of_its_width():
    assert bar(1.0) == "█" * BAR and bar(0.0) == " " * BAR
    assert bar(0.5, 10) == "█████     " and bar(0.05, 10) == "▌         " and bar(1 / 16, 10) == "▋         "


async def test_classify_shows_the_class_and_a_bar_per_class(runs):
    start = next(r for r in RunDir(runs / "cls").read_metrics() if r["event"] == "start")
    val = [r for r in RunDir(runs / "cls").read_metrics() if r["event"] == "val"][-1]
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ClassifyPane)
        pane.set_run(history_of(runs / "cls"))
        await pilot.pause()
        status = text_of(app, "#cl-run")
        best = max(b["val_acc"] for b in start["baselines"].values())
        assert "run cls" in status and "checkpoint step 120" in status
        assert f"validation accuracy {val['val_acc']:.1%}" in status and f"{best:.1%})" in status

        await classify(pilot, app, "the film was good and the music great")
        expected = load_classifier(runs / "cls").classify("the film was good and the music great")
        assert pane.result["label"] == expected["label"] == "pos"
        lines = text_of(app, "#cl-probs").splitlines()
        assert lines[0] == "class: pos"
        rows = [line for line in lines if "%" in line]
        assert [row.split()[0] for row in rows] == ["pos", "neg"]  # every class, most likely first
        for row, name in zip(rows, ("pos", "neg")):
            assert row.endswith(f"{expected['probs'][name]:.1%}")
        assert rows[0].count("█") > rows[1].count("█")
        assert "checkpoint step 120" in lines[-1]

        await classify(pilot, app, "a dull and bad story")
        assert pane.result["label"] == "neg" and text_of(app, "#cl-probs").splitlines()[0] == "class: neg"

        await classify(pilot, app, "   ")
        assert text_of(app, "#cl-error") == "type a text to classify"


async def test_a_run_that_is_not_a_classifier_is_one_line(runs):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ClassifyPane)
        assert text_of(app, "#cl-run") == NO_RUN
        await classify(pilot, app, "good")
        assert text_of(app, "#cl-error") == NO_RUN
        pane.set_run(history_of(runs / "lm"))
        await pilot.pause()
        line = "lm is a language model: use the Generate tab (4); classifying needs a run trained with --task classify"
        assert text_of(app, "#cl-run") == line
        await classify(pilot, app, "good")
        assert text_of(app, "#cl-error") == line and pane.result is None


async def test_the_app_classifies_on_key_7_and_the_other_tabs_name_a_classifier(runs):
    app = RnnTuiApp(runs, open_run="cls")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("7")
        assert app.query_one("TabbedContent").active == "classify"
        assert await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "cl-text")
        assert await wait_for(pilot, lambda: "checkpoint step 120" in text_of(app, "#cl-run"))  # the app's set_run
        await pilot.press(*"great acting", "enter")
        pane = app.query_one(ClassifyPane)
        assert await wait_for(pilot, lambda: pane.result is not None, seconds=20)
        assert pane.result["label"] == "pos"

        # the Train tab: accuracy beside the best baseline, and the accuracy curve first
        start = next(r for r in RunDir(runs / "cls").read_metrics() if r["event"] == "start")
        val = [r for r in RunDir(runs / "cls").read_metrics() if r["event"] == "val"][-1]
        name, best = max(start["baselines"].items(), key=lambda b: b[1]["val_acc"])
        shown = {"majority": "majority", "naive_bayes": "naive Bayes", "logreg": "bag-of-words"}[name]
        status = text_of(app, "#run-status")
        assert f"acc {val['val_acc']:.1%} ({shown} {best['val_acc']:.1%})" in status
        train = app.query_one(TrainPane)
        assert SECOND_PLOT[train.second] == "val_acc" and app.query_one("#second-plot").title == "val acc"
        assert app.query_one("#loss-plot").title == "loss (nats/text)"

        # the Data tab and the Train form take the opened run's data and task (not the default lm)
        assert await wait_for(pilot, lambda: app.config.task == "classify", seconds=30)
        assert app.query_one("#d-task").value == "classify" and train.chosen_task == "classify"
        assert app.config.data.spec == RunDir(runs / "cls").config().data.spec
        assert await wait_for(pilot, lambda: "texts · 2 classes" in text_of(app, "#data-preview"), seconds=30)
        assert await wait_for(pilot, lambda: bool(app.query("#set-model-pooling")))
        assert app.query_one("#set-model-pooling").value == "max" and not app.query("#set-train-seq_len")

        # Generate and Translate say in one line what the run is and where to go; Inspect traces it
        where = "cls is a classifier: use the Classify tab (7)"
        assert text_of(app, "#gen-run") == where
        await pilot.press("escape", "4", "ctrl+g")
        assert await wait_for(pilot, lambda: text_of(app, "#gen-error") == where)
        assert app.query_one(GeneratePane).generated == ""
        assert text_of(app, "#tr-run").startswith(where) and app.query_one(TranslatePane).fits is False
        inspect = app.query_one(InspectPane)
        assert await wait_for(pilot, lambda: inspect.decision is not None, seconds=20)
        assert text_of(app, "#ins-message") == "" and inspect.decision.classes == ["neg", "pos"]
