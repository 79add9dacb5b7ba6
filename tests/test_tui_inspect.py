"""The Inspect pane with Pilot, against a 2-layer run trained in a fixture (no live trainer)."""

import random
import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from rnn_tui.api import load_run
from rnn_tui.inspect.equations import equation_rows, unit_equation
from rnn_tui.inspect.trace import TraceData, state_before_step
from rnn_tui.tui.palette import LEVELS, SCALES, level_rgb
from rnn_tui.tui.panes.inspect import InspectPane
from rnn_tui.tui.widgets.heatmap import HeatLegend, Heatmap
from rnn_tui.tui.widgets.token_strip import TokenStrip
from tests.conftest import history_of, text_of, train_tiny_run, wait_for

TEXT = "the cat sat"


@pytest.fixture(scope="module")
def run_path(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("inspectruns")
    return str(train_tiny_run(root, "the cat sat on the mat.\n猫坐在垫子上。\n" * 150, "inspect", layers=2).path)


class PaneApp(App[None]):
    def __init__(self, default_text: str = TEXT) -> None:
        super().__init__()
        self.default_text = default_text

    def compose(self) -> ComposeResult:
        yield InspectPane(default_text=self.default_text)


def expected_equation(cell, vectors, state_before, layer, t, unit) -> list[str]:
    """unit_equation straight from a model's trace tensors ((T, H) per "layer.name")."""
    prefix = f"{layer}."
    parts = {key[len(prefix):]: float(v[t, unit]) for key, v in vectors.items() if key.startswith(prefix)}
    prev = tuple(float(s[unit]) for s in state_before_step(vectors, layer, t, state_before[layer]))
    return unit_equation(cell, parts, prev)


def legend_scale(app) -> str:
    """The colour scale the legend's bar is drawn in, read from its colours."""
    first, *rest = app.query_one("#ins-legend", HeatLegend).render_line(0)  # the first is the low label
    bar = {seg.style.bgcolor for seg in rest if seg.style and seg.style.bgcolor} - {first.style.bgcolor}
    bar = {tuple(colour.get_truecolor()) for colour in bar}
    (kind,) = [k for k, scale in SCALES.items() if bar <= {level_rgb(scale, i) for i in range(LEVELS)}]
    return kind


async def open_pane(pilot, app, path):
    pane = app.query_one(InspectPane)
    pane.set_run(history_of(path, 30))
    assert await wait_for(pilot, lambda: pane.data is not None)
    await pilot.pause()
    pane.focus()
    await pilot.pause()
    return pane


async def test_step_through_units_layers_vectors(run_path):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_pane(pilot, app, run_path)
        assert pane.data.tokens == list(TEXT)
        assert text_of(app, "#ins-header").startswith("t=0 token 't' · layer 0 · vector h · unit 0")
        await pilot.press("right")
        assert "t=1 token 'h'" in text_of(app, "#ins-header")
        assert app.query_one("#ins-time", Heatmap).cursor_col == 1

        # the equation panel shows unit_equation for this step, from the real trace
        await pilot.press("down", "down", "down")
        assert pane.unit == 3 and "unit 3" in text_of(app, "#ins-header")
        await pilot.press("up")
        assert pane.unit == 2
        trace = load_run(run_path).trace(TEXT)
        expected = expected_equation("lstm", trace.vectors, trace.state_before, 0, 1, 2)
        c_line = next(line for line in expected if line.startswith("c = "))
        assert "\n".join(equation_rows(c_line)) in text_of(app, "#ins-equations")
        assert app.query_one("#ins-time", Heatmap).selected_row == 2

        # layers
        await pilot.press("right_square_bracket")
        assert pane.layer_index == 1 and "layer 1" in text_of(app, "#ins-header")
        expected = expected_equation("lstm", trace.vectors, trace.state_before, 1, 1, 2)
        assert "\n".join(equation_rows(expected[-1])) in text_of(app, "#ins-equations")
        await pilot.press("right_square_bracket")
        assert pane.layer_index == 1  # only two layers
        await pilot.press("left_square_bracket")
        assert pane.layer_index == 0

        # vectors: h (diverging) -> c -> i (a gate: sequential)
        assert legend_scale(app) == "diverging"
        await pilot.press("v")
        assert "vector c" in text_of(app, "#ins-header") and legend_scale(app) == "diverging"
        await pilot.press("v")
        assert "vector i" in text_of(app, "#ins-header") and legend_scale(app) == "sequential"
        assert app.query_one("#ins-time", Heatmap).kind == "sequential"
        assert "vector i" in text_of(app, "#ins-header")

        # end of the text: the last token has no actual next
        await pilot.press("end")
        assert f"t={len(TEXT) - 1}" in text_of(app, "#ins-header")
        assert "no actual next" in text_of(app, "#ins-topk")


async def test_sort_by_variance_puts_that_unit_first(run_path):
    app = PaneApp()
    async with app.run_test(size=(100, 32)) as pilot:
        pane = await open_pane(pilot, app, run_path)
        trace = load_run(run_path).trace(TEXT)
        top = int(trace.vectors["0.h"].var(0, unbiased=False).argmax())
        await pilot.press("o")
        heat = app.query_one("#ins-time", Heatmap)
        assert pane.order[0] == top and heat.render_line(1).text[:heat.gutter_width - 1].strip() == str(top)  # row 0's label
        assert pane.unit == top and heat.selected_row == 0
        await pilot.press("down")
        assert pane.unit == pane.order[1]
        await pilot.press("o")  # by |activation at the cursor|
        row = trace.vectors["0.h"][0].abs()
        assert pane.order[0] == int(row.argmax())
        await pilot.press("o")
        assert pane.order == list(range(32))

        # / searches a unit by number
        await pilot.press("slash")
        assert app.focused.id == "ins-search"
        await pilot.press("1", "7", "enter")
        assert pane.unit == 17 and app.focused is pane

        # the top-k shows the actual next token's log-prob
        assert "actual 'h': log p =" in text_of(app, "#ins-topk")


async def test_chinese_text_and_retrace(run_path):
    app = PaneApp(default_text="猫坐")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_pane(pilot, app, run_path)
        assert pane.data.tokens == ["猫", "坐"]
        app.query_one("#ins-text").value = "猫坐在垫子上\\n"
        assert await wait_for(pilot, lambda: pane.data.tokens == list("猫坐在垫子上\n"))
        await pilot.press("end")
        assert "token '⏎'" in text_of(app, "#ins-header")
        # a character the run never saw is shown as typed, and the header says the model read <unk>
        app.query_one("#ins-text").value = "猫龘"
        assert await wait_for(pilot, lambda: pane.data.tokens == ["猫", "龘"])
        assert pane.data.unknown == {1}
        await pilot.press("end")
        assert "token '龘' (not in the vocabulary: read as <unk>)" in text_of(app, "#ins-header")


async def test_missing_run_is_one_error_line(tmp_path):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(InspectPane)
        pane.set_run(history_of(tmp_path / "nope", None))
        message = app.query_one("#ins-message")
        assert await wait_for(pilot, lambda: message.has_class("-shown"))
        text = text_of(app, "#ins-message")
        assert text and "\n" not in text.strip()
        assert text_of(app, "#ins-header").strip() == ""  # the error is the one state line, no "No run" beside it
        await pilot.press("right", "down", "v", "o", "right_square_bracket")  # no crash without a trace
        pane.set_run(None)
        await pilot.pause()
        assert "No run" in text_of(app, "#ins-header") and not message.has_class("-shown")


def fake_trace(layers=2, hidden=512, length=120) -> TraceData:
    rng = random.Random(0)
    names = ("h", "c", "i", "f", "g", "o", "tanh_c", "pre_i", "pre_f", "pre_g", "pre_o")
    by_time = {f"{k}.{n}": [[rng.uniform(-1, 1) for _ in range(hidden)] for _ in range(length)]
               for k in range(layers) for n in names}
    return TraceData(
        cell="lstm", layers=layers, hidden=hidden, vectors=names,
        kinds={n: "sequential" if n in "ifo" else "diverging" for n in names},
        tokens=[rng.choice("abc ") for _ in range(length)],
        by_time=by_time, by_unit={k: [list(c) for c in zip(*v)] for k, v in by_time.items()},
        ranges={n: (-1.0, 1.0) if n not in "ifo" else (0.0, 1.0) for n in names},
        state_before=[[[0.0] * hidden, [0.0] * hidden] for _ in range(layers)],
        topk=[[("a", 0.5), ("b", 0.3)] for _ in range(length)], next_logprob=[-0.7] * (length - 1),
    )


async def test_cursor_move_is_cheap_for_a_2x512_lstm():
    app = PaneApp()
    async with app.run_test(size=(100, 32)) as pilot:
        pane = app.query_one(InspectPane)
        pane.set_trace(fake_trace())
        await pilot.pause()
        strip = app.query_one(TokenStrip)
        pane.focus()
        times = []
        for _ in range(10):
            start = time.perf_counter()
            pane.action_step(1)
            times.append(time.perf_counter() - start)
        await pilot.pause()
        assert strip.cursor == 10
        print(f"\ncursor move (2×512 LSTM, T=120): median {sorted(times)[5] * 1000:.2f} ms")
        assert pane.t == 10 and "t=10" in text_of(app, "#ins-header")


async def test_clicking_the_time_map_selects_unit_and_step(run_path):
    app = PaneApp()
    async with app.run_test(size=(100, 32)) as pilot:
        pane = await open_pane(pilot, app, run_path)
        heat = app.query_one("#ins-time", Heatmap)
        # the data cell of row 4 (unit 4, unsorted), column 5: line 1 + 4 // 2 (header first), x past the gutter
        await pilot.click("#ins-time", offset=(heat.gutter_width + 5 * heat.col_width, 1 + 4 // 2))
        await pilot.pause()
        assert pane.unit == 4 and pane.t == 5
        assert "t=5 token" in text_of(app, "#ins-header") and "unit 4" in text_of(app, "#ins-header")


def test_equation_rows_put_the_numbers_under_the_symbols():
    assert equation_rows("c = f·c_prev + i·g = 0.93·0.41 + 0.12·(−0.55) = 0.31") == [
        "c = f·c_prev + i·g", "  = 0.93·0.41 + 0.12·(−0.55) = 0.31"]
    # an " = " inside parentheses is not a step
    assert equation_rows("hn = W_hn h_prev + b_hn = 0.12   (h_prev = 0.30)") == [
        "hn = W_hn h_prev + b_hn", "   = 0.12   (h_prev = 0.30)"]
    assert equation_rows("pre = W_ih x + b_ih + W_hh h_prev + b_hh = 0.52   (h_prev = −0.10)")[1].startswith("    = 0.52")
    assert equation_rows("no equation here") == ["no equation here"]


@pytest.fixture(scope="module")
def translator_path(tmp_path_factory) -> str:
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.trainer import train_run
    from tests.test_train_seq2seq import pairs_file, s2s_config

    root = tmp_path_factory.mktemp("inspect-mt")
    cfg = s2s_config(str(pairs_file(root)), steps=120)
    cfg.model.bidirectional, cfg.model.cell = True, "lstm"
    run = RunDir.create(root / "runs", cfg, name="mt")
    train_run(run)
    return str(run.path)


async def test_a_translator_steps_through_encoder_and_decoder(translator_path):
    app = PaneApp(default_text="I have 3 cats .")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await open_pane(pilot, app, translator_path)
        assert list(pane.parts) == ["encoder →", "encoder ←", "decoder"]
        assert pane.part == "encoder →" and pane.data.tokens == ["I", "have", "3", "cats", "."]
        assert text_of(app, "#ins-header").startswith("encoder → · t=0 token 'I'")
        assert "attend most" in text_of(app, "#ins-topk")  # the encoder predicts nothing; attention instead
        await pilot.press("e")
        assert pane.part == "encoder ←" and pane.data.tokens == [".", "cats", "3", "have", "I"]  # reading order
        await pilot.press("e")
        assert pane.part == "decoder" and pane.data.tokens[0] == "<bos>"
        assert "actual '我'" in text_of(app, "#ins-topk")

        # the decoder's equations are unit_equation on the model's own trace
        loaded = load_run(translator_path)
        trace = loaded.trace("I have 3 cats .")
        await pilot.press("right", "down", "down")
        expected = expected_equation("lstm", trace.decoder, trace.decoder_state_before, 0, 1, pane.unit)
        assert "\n".join(equation_rows(expected[3])) in text_of(app, "#ins-equations")
        assert [loaded.tgt_vocab.itos[i] for i in trace.tgt_ids][:3] == pane.data.actual[:3]

        # source => target forces the target
        app.query_one("#ins-text").value = "I have 3 cats . => 我有三只狗。"
        assert await wait_for(pilot, lambda: pane.parts.get("decoder") and pane.data.actual[-2:] == ["。", "<eos>"]
                              and "狗" in pane.data.actual)
        await pilot.press("e")
        assert pane.part == "encoder →"


async def test_a_ablates_the_selected_unit_and_a_again_restores_it(run_path, translator_path):
    """`a` on a language model: the text is traced again with the selected unit's h and c held at 0
    (layer 1 unit 3 of the 2-layer LSTM), the status line says so, the top-k gives each probability's
    change from the plain model and the actual token's loss with and without; `a` again: the plain trace."""
    from rnn_tui.inspect.trace import shown
    from rnn_tui.models.interventions import Intervention

    app = PaneApp()
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await open_pane(pilot, app, run_path)
        await pilot.press("right_square_bracket", "down", "down", "down")
        assert (pane.layer_index, pane.unit) == (1, 3)
        plain = pane.data
        assert any(v != 0 for v in plain.by_unit["1.h"][3]) and not app.query_one("#ins-ablation").display

        await pilot.press("a")
        assert await wait_for(pilot, lambda: pane.ablated == (1, 3))
        held = pane.data
        zeros = [0.0] * len(TEXT)
        assert held.by_unit["1.h"][3] == zeros and held.by_unit["1.c"][3] == zeros
        assert app.query_one("#ins-time", Heatmap)._rows[pane.position[3]] == zeros  # the map draws the zeros
        assert held.by_unit["0.h"] == plain.by_unit["0.h"]  # the layer below reads nothing of it
        assert held.by_unit["1.h"] != plain.by_unit["1.h"]  # its neighbours read it through W_hh
        assert app.query_one("#ins-ablation").display
        assert text_of(app, "#ins-ablation").startswith("unit 1:3 ablated (h and c = 0 at every step)")

        loaded = load_run(run_path)
        before = loaded.trace(TEXT, topk=len(loaded.vocab))
        with loaded.intervening([Intervention("ablate", 1, 3)]):
            after = loaded.trace(TEXT)
        itos, ids, probs = loaded.vocab.itos, after.topk_ids[0].tolist(), after.topk_probs[0].tolist()
        plain_p = dict(zip(before.topk_ids[0].tolist(), before.topk_probs[0].tolist()))
        topk = text_of(app, "#ins-topk")
        assert held.topk[0] == [(itos[i], p) for i, p in zip(ids, probs)]
        for i, p in zip(ids, probs):
            assert f" {shown(itos[i]):<8} {p:6.3f} {p - plain_p[i]:+.3f} " in topk
        lp, plain_lp = float(after.next_logprob[0]), float(before.next_logprob[0])
        assert f"log p = {lp:.3f}" in topk and f"plain: log p = {plain_lp:.3f}; loss {plain_lp - lp:+.3f} nats" in topk
        assert held.by_unit["1.h"] == [[float(v) for v in after.vectors["1.h"][:, u]] for u in range(loaded.config.model.hidden)]

        await pilot.press("a")
        assert await wait_for(pilot, lambda: pane.ablated is None)
        assert pane.data.by_unit == plain.by_unit and pane.data.topk == plain.topk
        assert not app.query_one("#ins-ablation").display and "plain:" not in text_of(app, "#ins-topk")
        assert pane.ablate is None and loaded.interventions == ()

    app = PaneApp(default_text="I have 3 cats .")
    async with app.run_test(size=(100, 30)) as pilot:
        pane = await open_pane(pilot, app, translator_path)
        await pilot.press("a")
        await pilot.pause()
        assert [n.message for n in app._notifications] == ["interventions are for language models; this run is a translator"]
        assert pane.ablate is None and pane.ablated is None


def strip_backgrounds(app) -> list[tuple[int, int, int] | None]:
    """The background colour of each token as the strip draws it (None: unshaded)."""
    strip = app.query_one(TokenStrip)
    out = []
    for seg in strip.render_line(0):
        if seg.text.strip() and seg.text != " ":
            bg = seg.style.bgcolor if seg.style else None
            out.append(tuple(bg.get_truecolor()) if bg is not None else None)
    return out


async def test_the_tokens_are_coloured_by_the_selected_unit(run_path):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_pane(pilot, app, run_path)
        await pilot.press("end")  # the cursor's own highlight off the tokens compared below

        def expected(unit: int) -> list[tuple[int, int, int]]:
            data = pane.data
            lo, hi = data.ranges[pane.vector]
            scale = SCALES[data.kinds[pane.vector]]
            values = data.by_unit[pane.key][unit]
            if data.kinds[pane.vector] == "diverging":  # h, c: ±the unit's own largest |value|
                hi = max(abs(v) for v in values)
                lo = -hi
            return [level_rgb(scale, round((v - lo) / (hi - lo) * (LEVELS - 1))) for v in values]

        shown = strip_backgrounds(app)[:-1]  # the last token holds the cursor
        assert shown == expected(0)[: len(shown)] and len(shown) == len(TEXT) - 1
        await pilot.press("down", "down")
        assert pane.unit == 2
        shown = strip_backgrounds(app)[:-1]
        assert shown == expected(2)[: len(shown)] and shown != expected(0)[: len(shown)]  # the unit's own values
        await pilot.press("v", "v")  # a gate: the sequential scale
        assert pane.vector == "i" and strip_backgrounds(app)[:-1] == expected(2)[: len(TEXT) - 1]


async def test_a_default_text_the_model_cannot_read_gives_way_to_its_own(tmp_path):
    """A model of "hello" knows five characters: the default Python text would be all <unk>, so
    Inspect traces the run's latest sample instead, and shows it in the text box. A text the user
    typed is traced as typed."""
    path = str(train_tiny_run(tmp_path, "hello\n" * 300, "hello", steps=20).path)
    app = PaneApp(default_text="def main():\n    return 0")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_pane(pilot, app, path)
        box = app.query_one("#ins-text")
        assert await wait_for(pilot, lambda: box.value != "def main():\\n    return 0")
        assert set(pane.data.tokens) <= set("helo\n")  # every token one the model knows
        assert box.value.replace("\\n", "\n") == "".join(pane.data.tokens)
        box.value = "hexlo"  # typed: traced as typed, <unk> and all
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: "".join(pane.data.tokens) == "hexlo")


@pytest.mark.parametrize("kind", ["classifier", "translator"])
async def test_a_classifier_and_a_translator_trace_their_own_sampled_text_for_the_default(tmp_path, translator_path, kind):
    """A word-level classifier and translator cannot read the default Python text either: Inspect
    traces the classifier's first sampled validation text, and the translator's first sampled source."""
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.trainer import train_run
    from tests.test_train_classify import classify_config, reviews

    if kind == "classifier":
        run = RunDir.create(tmp_path / "runs", classify_config(str(reviews(tmp_path)), steps=60), name="cls")
        train_run(run)
        sampled = run.read_samples()[-1]["classified"][0]["text"]
    else:
        run = RunDir(Path(translator_path))
        sampled = run.read_samples()[-1]["translations"][0]["source"]
    app = PaneApp(default_text="def main():\n    return 0")
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await open_pane(pilot, app, str(run.path))
        box = app.query_one("#ins-text")
        assert await wait_for(pilot, lambda: box.value == sampled)
        tokens = next(iter(pane.parts.values())).tokens  # the classifier's, or the encoder's (the source)
        assert "<unk>" not in tokens and " ".join(tokens).startswith(sampled.split()[0])
