"""The Translate tab with Pilot, against a small translator trained in a fixture (no live trainer)."""

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.widgets import Input

from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.translate import NO_RUN, TranslatePane
from rnn_tui.tui.widgets.attention_map import NO_ATTENTION, AttentionMap
from tests.conftest import small_config, wait_for
from tests.test_train_seq2seq import pairs_file, s2s_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tr")
    train_run(RunDir.create(root / "runs", s2s_config(str(pairs_file(root)), steps=150), name="mt"))
    plain = s2s_config(str(pairs_file(root)), steps=10)
    plain.model.attention = "none"
    train_run(RunDir.create(root / "runs", plain, name="plain"))
    text = root / "t.txt"
    text.write_text("hello world.\n" * 200, encoding="utf-8")
    train_run(RunDir.create(root / "runs", small_config(str(text), steps=5), name="lm"))
    return root / "runs"


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TranslatePane()


def text_of(app, selector) -> str:
    return str(app.query_one(selector).render())


async def translate(pilot, app, sentence, reference="", beam="5", nbest="3"):
    pane = app.query_one(TranslatePane)
    for name, value in (("source", sentence), ("reference", reference), ("beam", beam), ("nbest", nbest)):
        app.query_one(f"#tr-{name}", Input).value = value
    job = pane.job
    app.query_one("#tr-source", Input).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: pane.job > job and (pane.result is not None and pane.result["source"] == sentence
                                                      or app.query_one("#tr-error").display))
    return pane


async def test_translate_shows_nbest_bleu_and_attention(runs):
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one(TranslatePane).set_run(str(runs / "mt"), 150)
        pane = await translate(pilot, app, "I have 3 cats .", reference="我有三只猫。")
        hyps = pane.result["hypotheses"]
        assert len(hyps) == 3 and hyps[0]["text"] == "我有三只猫。"
        shown = text_of(app, "#tr-hyps")
        assert shown.startswith("1. 我有三只猫。") and "\n2. " in shown and "\n3. " in shown and "score" in shown
        assert "sentence BLEU of 1. against the reference: 100.0" in shown
        assert "validation BLEU" in text_of(app, "#tr-run")  # from the run's metrics

        amap = app.query_one(AttentionMap)
        assert amap.col_labels == ["I", "have", "3", "cats", "."]
        assert amap.row_labels == list("我有三只猫。") + ["<eos>"]
        header = amap.render_line(0).text
        lines = [amap.render_line(y).text for y in range(1, 1 + len(amap.row_labels))]
        # double-width labels: every line has the same cell width, columns start under their labels
        assert len({cell_len(line.rstrip()) for line in lines}) == 1
        assert header.index("have") == amap.label_width + 2 + 1
        assert "α" in amap.render_line(len(amap.row_labels) + 1).text  # the legend

        # a wrong reference scores lower; greedy (beam 1) works
        await translate(pilot, app, "I have 3 cats .", reference="我有三只狗。", beam="1", nbest="1")
        shown = text_of(app, "#tr-hyps")
        assert "greedy" in shown and "\n2. " not in shown
        bleu = float(shown.split("against the reference: ")[1].split()[0])
        assert 0 < bleu < 100


@pytest.mark.parametrize("beam, nbest, message", [("x", "1", "whole numbers"), ("0", "1", "between 1 (greedy)"),
                                                  ("2", "3", "n-best must be between")])
async def test_bad_decoding_values_are_one_line(runs, beam, nbest, message):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(TranslatePane).set_run(str(runs / "mt"), 150)
        await translate(pilot, app, "I have 1 cats .", beam=beam, nbest=nbest)
        error = app.query_one("#tr-error")
        assert error.display and message in text_of(app, "#tr-error") and "\n" not in text_of(app, "#tr-error").strip()


async def test_a_language_model_run_and_a_run_without_attention(runs):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(TranslatePane)
        await translate(pilot, app, "I have 2 dogs .")
        assert NO_RUN in text_of(app, "#tr-error")
        pane.set_run(str(runs / "lm"), 5)
        await translate(pilot, app, "I have 2 dogs .")
        assert "is a language model" in text_of(app, "#tr-error")
        pane.set_run(str(runs / "plain"), 10)
        await translate(pilot, app, "I have 2 dogs .")
        assert pane.result is not None and pane.result["attention"] is None
        assert NO_ATTENTION in app.query_one(AttentionMap).render_line(0).text


async def test_the_app_has_a_translate_tab_on_key_6(runs):
    app = RnnTuiApp(runs, open_run="mt")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("6")
        assert app.query_one("TabbedContent").active == "translate"
        assert await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "tr-source")
        await pilot.press(*"I have 7 cats .", "enter")
        pane = app.query_one(TranslatePane)
        assert await wait_for(pilot, lambda: pane.result is not None, seconds=20)
        assert pane.result["hypotheses"][0]["text"] == "我有七只猫。"
