"""The Translate tab with Pilot, against small runs trained in a fixture (no live trainer)."""

import pytest
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.widgets import Input

from rnn_tui.decode.settings import Beam
from rnn_tui.runs.rundir import RunDir
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.translate import NO_RUN, TranslatePane, parse_decoding
from rnn_tui.tui.widgets.attention_map import NO_ATTENTION, AttentionMap
from tests.conftest import console_runs, history_of, text_of, wait_for
from tests.test_train_seq2seq import pairs_file, s2s_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tr")
    plain = s2s_config(str(pairs_file(root)), steps=10)
    plain.model.attention = "none"
    return console_runs(root, mt=s2s_config(str(pairs_file(root)), steps=150), plain=plain)


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TranslatePane()


def fill(app, **fields) -> None:
    for name, value in fields.items():
        app.query_one(f"#tr-{name}", Input).value = value


async def open_run(pilot, app, path, step) -> TranslatePane:
    pane = app.query_one(TranslatePane)
    pane.set_run(history_of(path, step))
    await pilot.pause()
    return pane


async def translate(pilot, app, sentence, reference="", beam="5", alpha="0.75", nbest="3") -> TranslatePane:
    """Type the fields, press enter in the source and wait for the result (or the error line)."""
    pane = app.query_one(TranslatePane)
    fill(app, source=sentence, reference=reference, beam=beam, alpha=alpha, nbest=nbest)
    job = pane.job
    app.query_one("#tr-source", Input).focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.query_one("#tr-error").display
                   or (pane.job > job and pane.result is not None and pane.result["source"] == sentence))
    return pane


def block_starts(line: str) -> list[int]:
    """Cell offsets where runs of "█" begin (cells, not characters: labels may be double-width)."""
    starts, x, before = [], 0, ""
    for char in line:
        if char == "█" and before != "█":
            starts.append(x)
        x += cell_len(char)
        before = char
    return starts


def label_starts(header: str, labels: list[str]) -> list[int]:
    starts, at = [], 0
    for label in labels:
        at = header.index(label, at)
        starts.append(cell_len(header[:at]))
        at += len(label)
    return starts


async def test_translate_shows_nbest_bleu_and_attention(runs):
    val = [r for r in RunDir(runs / "mt").read_metrics() if r["event"] == "val"][-1]
    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await open_run(pilot, app, runs / "mt", 150)
        status = text_of(app, "#tr-run")
        assert "run mt" in status and "checkpoint step 150" in status
        assert f"validation BLEU {val['val_bleu']:.1f} (greedy, at step {val['step']})" in status  # from the metrics

        await translate(pilot, app, "I have 3 cats .", reference="我有三只猫。")
        hyps = pane.result["hypotheses"]
        assert len(hyps) == 3 and hyps[0]["text"] == "我有三只猫。"
        lines = text_of(app, "#tr-hyps").splitlines()
        assert lines[0].split() == ["translation", "score", "log", "P"]
        assert lines[1].startswith("1. 我有三只猫。") and lines[2].startswith("2. ") and lines[3].startswith("3. ")
        assert f"{hyps[0]['score']:.3f}" in lines[1] and f"{hyps[0]['logprob']:.3f}" in lines[1]
        assert len({cell_len(line) for line in lines[1:4]}) == 1  # the scores line up in columns
        assert "sentence BLEU of 1. against the reference: 100.0" in lines[4]
        assert "beam 5" in lines[5] and "score = log P / L^α, α 0.75" in lines[5] and "checkpoint step 150" in lines[5]

        amap = app.query_one(AttentionMap)
        assert amap.col_labels == ["I", "have", "3", "cats", "."]
        assert amap.row_labels == [*list("我有三只猫。"), "<eos>"]
        assert amap.size.height == 1 + 7 + 1  # the source tokens, a line per output token and <eos>, the legend
        header = amap.render_line(0).text
        columns = label_starts(header, amap.col_labels)
        rows = [amap.render_line(y).text for y in range(1, 8)]
        assert [line.split()[0] for line in rows] == amap.row_labels
        assert all(block_starts(line) == columns for line in rows)  # Chinese labels are 2 cells: still aligned
        assert "attention weight" in amap.render_line(8).text

        # n-best follows its field; a wrong reference scores lower; greedy (beam 1) works
        await translate(pilot, app, "I have 3 cats .", nbest="2")
        assert len(pane.result["hypotheses"]) == 2 and "sentence BLEU" not in text_of(app, "#tr-hyps")
        await translate(pilot, app, "I have 3 cats .", reference="我有三只狗。", beam="1", nbest="1")
        shown = text_of(app, "#tr-hyps")
        assert "greedy" in shown and "\n2. " not in shown and len(pane.result["hypotheses"]) == 1
        bleu = float(shown.split("against the reference: ")[1].split()[0])
        assert 0 < bleu < 100 and bleu == pytest.approx(pane.bleu, abs=0.05)

        # a newer checkpoint of a run that is still training: the model is loaded again
        assert pane.models.holds(str(runs / "mt"), 150) and not pane.models.holds(str(runs / "mt"), 151)
        pane.set_run(history_of(runs / "mt", 151))
        assert await wait_for(pilot, lambda: "checkpoint step 151" in text_of(app, "#tr-run"))
        assert pane.result is not None  # the same run: the last translation stays until the next one
        await pilot.press("ctrl+t")
        assert await wait_for(pilot, lambda: pane.models.holds(str(runs / "mt"), 151))


@pytest.mark.parametrize("fields, message", [
    ({"beam": "x"}, "beam width: 'x' is not a whole number"),
    ({"beam": "0"}, "beam width must be between 1 and 64; got 0"),
    ({"beam": "2", "nbest": "3"}, "n-best must be at most the beam width (2); got 3"),
    ({"alpha": "-1"}, "α must be between 0 and 5; got -1"),
    ({"alpha": "nan"}, "α must be a finite number; got nan"),
    ({"source": " "}, "type a sentence"),
])
async def test_bad_values_are_one_line_and_no_crash(runs, fields, message):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_run(pilot, app, runs / "mt", 150)
        fill(app, **{"source": "I have 1 cats .", **fields})
        job = pane.job
        app.query_one("#tr-source", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        error = text_of(app, "#tr-error")
        assert app.query_one("#tr-error").display and message in error and "\n" not in error.strip()
        assert pane.job == job  # nothing was started
        fill(app, beam="5", alpha="0.75", nbest="3", source="I have 1 cats .")
        await pilot.press("enter")  # fixed: it translates, and the error line goes
        assert await wait_for(pilot, lambda: pane.result is not None)
        assert not app.query_one("#tr-error").display


def test_parse_decoding():
    assert parse_decoding(" 5 ", "0.75", "3") == Beam(width=5, alpha=0.75, nbest=3)
    assert parse_decoding("1", "0", "1") == Beam(width=1, alpha=0.0, nbest=1)


async def test_no_run_a_language_model_and_a_run_without_attention(runs):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(TranslatePane)
        assert text_of(app, "#tr-run") == NO_RUN
        await translate(pilot, app, "I have 2 dogs .")
        assert text_of(app, "#tr-error") == NO_RUN

        await open_run(pilot, app, runs / "lm", 5)
        assert text_of(app, "#tr-run").startswith("lm is a language model") and pane.fits is False
        await translate(pilot, app, "I have 2 dogs .")
        assert text_of(app, "#tr-error").startswith("lm is a language model") and pane.result is None

        await open_run(pilot, app, runs / "plain", 10)
        assert "run plain" in text_of(app, "#tr-run")
        await translate(pilot, app, "I have 2 dogs .")
        assert pane.result is not None and pane.result["attention"] is None
        assert app.query_one(AttentionMap).render_line(0).text.startswith(NO_ATTENTION)

        pane.set_run(None)  # the app closed the run: what was shown goes
        await pilot.pause()
        assert text_of(app, "#tr-run") == NO_RUN and pane.result is None and text_of(app, "#tr-hyps") == ""


async def test_the_app_has_a_translate_tab_on_key_6(runs):
    app = RnnTuiApp(runs, open_run="mt")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        assert app.query_one("TabbedContent").active == "translate"
        assert await wait_for(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "tr-source")
        assert await wait_for(pilot, lambda: "checkpoint step 150" in text_of(app, "#tr-run"))  # the app's set_run
        await pilot.press(*"I have 7 cats .", "enter")
        pane = app.query_one(TranslatePane)
        assert await wait_for(pilot, lambda: pane.result is not None, seconds=20)
        assert pane.result["hypotheses"][0]["text"] == "我有七只猫。"
        assert text_of(app, "#tr-hyps").splitlines()[1].startswith("1. 我有七只猫。")


class MapApp(App[None]):
    def compose(self) -> ComposeResult:
        yield AttentionMap()


async def test_attention_map_aligns_double_width_labels():
    app = MapApp()
    async with app.run_test(size=(60, 12)) as pilot:
        amap = app.query_one(AttentionMap)
        assert amap.size.height == 0  # nothing set yet: no room taken
        cols = ["我", "猫咪们", "a", "longword"]
        amap.set_attention([[1.0, 0.0, 0.0, 0.0], [0.1, 0.6, 0.2, 0.1], [0.0, 0.0, 0.5, 0.5]],
                           ["猫", "<eos>", "一只猫"], cols)
        await pilot.pause()
        assert amap.label_width == cell_len("一只猫") + 1 == 7
        assert amap.col_widths == [2, 6, 2, 8]
        header = amap.render_line(0).text
        assert label_starts(header, cols) == [7, 10, 17, 20]
        for y in range(1, 4):
            line = amap.render_line(y).text
            assert block_starts(line) == [7, 10, 17, 20]
            assert cell_len(line.rstrip()) == 7 + 2 + 1 + 6 + 1 + 2 + 1 + 8
        # the weight decides the colour; the cell holds nothing but blocks
        strip = amap.render_line(1)
        cells = [seg for seg in strip if "█" in seg.text]
        assert [len(seg.text) for seg in cells] == [2, 6, 2, 8]
        assert cells[0].style.color != cells[1].style.color and cells[1].style.color == cells[2].style.color
        assert amap.size.height == 1 + 3 + 1

        amap.set_attention(None, ["猫"], ["I"])
        await pilot.pause()
        assert amap.size.height == 1 and amap.render_line(0).text.startswith(NO_ATTENTION)
