"""Inspect on a classifier: the trace core (states per direction, the class probabilities after
each prefix, log-odds changes, top movers, attention weights) checked against the model itself,
its JSON, `rnn-tui inspect` on a classifier run, and the Inspect pane stepping through one."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from textual.app import App, ComposeResult
from textual.widgets import Input

from rnn_tui.api import LoadedClassifier, load_classifier
from rnn_tui.config import Config
from rnn_tui.data.tokenizers import get_tokenizer
from rnn_tui.data.vocab import Vocab
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.export import classification_to_dict
from rnn_tui.inspect.trace import classification_trace, equation_lines, log_odds, state_before_step
from rnn_tui.models.classifier import Classifier
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from rnn_tui.tui.panes.inspect import InspectPane, text_to_input
from rnn_tui.tui.widgets.decision_row import BARS, DecisionRow, bar, chance_centred
from rnn_tui.tui.widgets.token_strip import TokenStrip
from tests.conftest import history_of, text_of, wait_for
from tests.test_cli import run_cli
from tests.test_inspect import _step
from tests.test_train_classify import classify_config, reviews

H = 8
TEXT = "the good film was dull zzz bad"
TOL = 1e-5


def _classifier(bidirectional: bool = False, pooling: str = "last", cell: str = "lstm", classes: int = 3) -> LoadedClassifier:
    """A small untrained classifier wrapped the way load_classifier does (the structure is what is tested)."""
    torch.manual_seed(0)
    cfg = Config(task="classify")
    m = cfg.model
    m.cell, m.layers, m.hidden, m.embed, m.bidirectional, m.pooling = cell, 2, H, 4, bidirectional, pooling
    cfg.data.tokenizer = "word"
    cfg.validate()
    vocab = Vocab.build(["the", "good", "film", "was", "dull", "bad"])
    names = ["neg", "pos", "meh"][:classes]
    model = Classifier(cfg.model, len(vocab), len(names), pooling).eval()
    return LoadedClassifier(run=None, config=cfg, model=model, vocab=vocab, tokenizer=get_tokenizer("word"),
                            classes=names, meta={})


def _prefix_probs_one_by_one(loaded: LoadedClassifier, tokens: list[str]) -> list[list[float]]:
    """Each prefix classified as a text of its own, through LoadedClassifier.classify."""
    return [list(loaded.classify(" ".join(tokens[: t + 1]))["probs"].values()) for t in range(len(tokens))]


# -- the core --------------------------------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_a_unidirectional_trace_is_the_model_read_token_by_token(pooling):
    loaded = _classifier(pooling=pooling)
    trace = classification_trace(loaded, TEXT)
    tokens = TEXT.split()
    assert list(trace.parts) == [""] and trace.tokens == tokens and not trace.bidirectional
    data = trace.parts[""]
    assert data.read[5] == "<unk>" and data.unknown == {5} and data.positions == list(range(7))

    # the last prefix is the whole text: the same probabilities as classify
    whole = loaded.classify(TEXT)
    assert trace.probs[-1] == pytest.approx(list(whole["probs"].values()), abs=TOL)
    assert trace.predicted == whole["label"]
    # every prefix: as the model classifies that prefix alone
    assert trace.probs == [pytest.approx(row, abs=TOL) for row in _prefix_probs_one_by_one(loaded, tokens)]

    # the log-odds of the predicted class, and each token's change of them (chance before the first)
    c = trace.label
    odds = [math.log(row[c] / (1 - row[c])) for row in trace.probs]
    assert trace.log_odds == pytest.approx(odds, abs=1e-4)
    assert trace.delta[0] == pytest.approx(odds[0] + math.log(2), abs=1e-4)  # 3 classes: chance log-odds −log 2
    assert trace.delta[1:] == pytest.approx([b - a for a, b in itertools.pairwise(odds)], abs=1e-4)
    movers = trace.movers()
    assert len(movers) == 3 and sorted(abs(trace.delta[t]) for t in movers) == sorted(map(abs, trace.delta))[-3:]
    assert abs(trace.delta[movers[0]]) >= abs(trace.delta[movers[1]]) >= abs(trace.delta[movers[2]])
    assert set(trace.movers(upto=1)) == {0, 1}  # only the tokens read so far

    # the top layer's h is what the fused kernel computes on the whole text
    ids = torch.tensor([loaded.encode(TEXT)])
    with torch.no_grad():
        fused = loaded.model.states(ids, torch.tensor([len(tokens)]))[0]
    assert torch.tensor(data.by_time["1.h"]) == pytest.approx(fused, abs=TOL)

    if pooling == "attention":
        assert trace.attention == pytest.approx(loaded.model.pool_weights(ids[0]).tolist(), abs=TOL)
        assert sum(trace.attention) == pytest.approx(1.0, abs=TOL) and len(trace.attention) == len(tokens)
    else:
        assert trace.attention is None


def test_a_bidirectional_trace_has_both_directions_and_attention_weights():
    loaded = _classifier(bidirectional=True, pooling="attention", cell="gru", classes=2)
    trace = classification_trace(loaded, TEXT)
    tokens = TEXT.split()
    assert list(trace.parts) == ["forward →", "backward ←"] and trace.bidirectional
    forward, backward = trace.parts.values()
    assert forward.tokens == tokens and backward.tokens == tokens[::-1] and backward.positions == [6, 5, 4, 3, 2, 1, 0]
    assert backward.unknown == {1}  # 'zzz', second in the backward reading order

    # [→h_t ; ←h_t] of the top layer is the fused kernel's, ← read in its own order
    with torch.no_grad():
        fused = loaded.model.states(torch.tensor([loaded.encode(TEXT)]), torch.tensor([len(tokens)]))[0]
    assert torch.tensor(forward.by_time["1.h"]) == pytest.approx(fused[:, :H], abs=TOL)
    assert torch.tensor(backward.by_time["1.h"]) == pytest.approx(fused.flip(0)[:, H:], abs=TOL)

    # ← from its own start: the state before step k is what step k − 1 left, and the equations agree
    x = loaded.model._input(torch.tensor(loaded.encode(TEXT)))
    for k in range(3):
        prev = state_before_step(backward.by_time, 0, k, backward.state_before[0])
        expected = _step(loaded.model.rnn_b, 0, x[backward.positions[k]], prev)
        assert backward.by_time["0.h"][k] == pytest.approx(expected[0].tolist(), abs=TOL)
    assert equation_lines(backward, 0, 2, 3)[-1].endswith(f"{backward.by_time['0.h'][2][3]:.2f}".replace("-", "−"))

    whole = loaded.classify(TEXT)
    assert trace.probs[-1] == pytest.approx(list(whole["probs"].values()), abs=TOL)
    # each prefix read alone by both directions (not the ← states inside the whole text)
    assert trace.probs == [pytest.approx(row, abs=TOL) for row in _prefix_probs_one_by_one(loaded, tokens)]
    assert trace.delta[0] == pytest.approx(trace.log_odds[0], abs=1e-6)  # 2 classes: chance's log-odds are 0
    assert sum(trace.attention) == pytest.approx(1.0, abs=TOL) and min(trace.attention) >= 0
    assert "attention weight α" in forward.notes[0] and "token 1 of 7" in forward.notes[0]
    assert backward.notes[0] == forward.notes[6]  # a note is about its text position


def test_log_odds_stay_finite_and_an_empty_text_is_one_line():
    assert log_odds([0.0, 1.0], 1) == pytest.approx(math.log(1e30))
    assert log_odds([0.2, 0.3, 0.5], 2) == pytest.approx(0.0)
    with pytest.raises(RnnTuiError, match="no tokens"):
        classification_trace(_classifier(), "   ")


def test_the_json_is_the_trace():
    loaded = _classifier(bidirectional=True, pooling="attention", classes=2)
    trace = classification_trace(loaded, TEXT)
    out = classification_to_dict(trace)
    assert json.loads(json.dumps(out)) == out
    assert out["task"] == "classify" and out["pooling"] == "attention" and out["bidirectional"] is True
    assert out["label"] == trace.predicted and out["tokens"][5] == "<unk>" and out["unknown"] == ["zzz"]
    assert len(out["steps"]) == 7 and out["classes"] == ["neg", "pos"]
    step = out["steps"][2]
    assert step["probs"]["pos"] == pytest.approx(trace.probs[2][1], abs=1e-5)
    assert step["delta"] == pytest.approx(trace.delta[2], abs=1e-5)
    assert step["attention"] == pytest.approx(trace.attention[2], abs=1e-5)
    backward = trace.parts["backward ←"]
    assert step["backward"][0]["h"] == pytest.approx(backward.by_time["0.h"][4], abs=1e-5)  # position 2 is read 5th
    assert [m["t"] for m in out["movers"]] == trace.movers()
    assert [layer["layer"] for layer in classification_to_dict(trace, layer=1)["steps"][0]["layers"]] == [1]
    with pytest.raises(RnnTuiError, match="--layer must be between 0 and 1"):
        classification_to_dict(trace, layer=2)
    assert classification_to_dict(classification_trace(_classifier(), TEXT))["attention"] is None


def test_bars_and_the_chance_centred_scale():
    assert bar(0.0) == BARS[0] and bar(1.0) == BARS[-1] and bar(0.5) == BARS[4]
    assert chance_centred(0.5, 2) == 0.5 and chance_centred(1 / 3, 3) == pytest.approx(0.5)
    assert chance_centred(0.0, 3) == 0.0 and chance_centred(1.0, 3) == 1.0


# -- a trained run: the command and the pane ---------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two classifiers trained on "good/great vs bad/dull" reviews: GRU with max pooling, and a
    bidirectional GRU with attention pooling."""
    root = tmp_path_factory.mktemp("inspect-cls")
    data = str(reviews(root))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNN_TUI_ATTACHED", "1")  # one trainer thread
        train_run(RunDir.create(root / "runs", classify_config(data), name="cls"))
        cfg = classify_config(data)
        cfg.model.pooling, cfg.model.bidirectional = "attention", True
        train_run(RunDir.create(root / "runs", cfg.validate(), name="att"))
    return root / "runs"


def test_the_command_on_a_classifier(monkeypatch, capsys, runs):
    text = "the film was good and quite long"
    code, out, err = run_cli(monkeypatch, capsys, "inspect", "cls", text, "--runs-dir", runs)
    assert code == 0, err
    trace = classification_trace(load_classifier(runs / "cls"), text)
    assert trace.predicted == "pos"
    rows = [line for line in out.splitlines() if "│" in line and "'" in line]
    assert len(rows) == 7
    good = rows[3].split("│")
    assert good[2].strip() == "'good'" and good[3].strip() == f"{trace.probs[3][1]:.3f}"
    assert good[5].strip() == f"{trace.delta[3]:+.2f}"
    movers = "  ".join(f"'{trace.tokens[t]}' {trace.delta[t]:+.2f}" for t in trace.movers())
    assert f"moved the log-odds of pos most: {movers}" in out and movers.startswith("'good'")

    code, out, _ = run_cli(monkeypatch, capsys, "inspect", "att", text, "--json", "--runs-dir", runs)
    result = json.loads(out)
    assert code == 0 and result["label"] == load_classifier(runs / "att").classify(text)["label"] == "pos"
    assert sum(result["attention"]) == pytest.approx(1.0, abs=1e-3) and "backward" in result["steps"][0]

    for flags, said in ((["--topk", "3"], "--topk"), (["--target", "x"], "--target")):
        code, _, err = run_cli(monkeypatch, capsys, "inspect", "cls", text, *flags, "--runs-dir", runs)
        assert code == 1 and err.strip() == f"rnn-tui: error: {said} is for language models and translators; cls is a classifier"
    code, _, err = run_cli(monkeypatch, capsys, "inspect", "cls", text, "--layer", "1", "--runs-dir", runs)
    assert code == 1 and err.strip() == "rnn-tui: error: --layer must be between 0 and 0; got 1"


class PaneApp(App[None]):
    """The pane with ``text`` typed in its box (the default text, untouched, would give way to one the
    run sampled where the classifier lacks a token of it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        yield InspectPane()

    def on_mount(self) -> None:
        self.query_one("#ins-text", Input).value = text_to_input(self.text)


async def traced(pilot, app, run) -> InspectPane:
    """The pane on ``run``, once its trace is shown, focused (its keys step)."""
    pane = app.query_one(InspectPane)
    pane.set_run(history_of(run))
    assert await wait_for(pilot, lambda: pane.decision is not None, seconds=20)
    pane.focus()
    await pilot.pause()
    return pane


async def test_the_pane_shows_how_the_decision_moves_as_it_steps(runs):
    text = "the film was good but dull"
    app = PaneApp(text)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await traced(pilot, app, runs / "cls")
        trace = classification_trace(load_classifier(runs / "cls"), text)
        assert pane.decision.probs == trace.probs and list(pane.parts) == [""]
        row = app.query_one(DecisionRow)
        assert row.display and row.size.height == 2  # bars and the caption; no attention row

        def bars() -> str:
            return "".join(seg.text for seg in row.render_line(0)).rstrip()

        def caption() -> str:
            return "".join(seg.text for seg in row.render_line(1)).rstrip()

        # a bar per token, in the token's cells under the strip
        strip = app.query_one(TokenStrip)
        expected = " ".join(bar(p[1]) * len(token) for p, token in zip(trace.probs, trace.tokens))
        assert bars() == expected and strip.token_x(3) == len("the film was ")
        assert caption().startswith(f"{bar(trace.probs[0][1])} p(pos) {trace.probs[0][1]:.2f} Δ{trace.delta[0]:+.2f}")
        assert caption().endswith(f"moved most: 'the' {trace.delta[0]:+.2f}")
        assert "after 'the', token 1 of 6" in text_of(app, "#ins-topk")

        seen = [caption()]
        for t in range(1, 6):
            await pilot.press("right")
            assert pane.t == t and row.cursor == t
            line = caption()
            assert f"p(pos) {trace.probs[t][1]:.2f} Δ{trace.delta[t]:+.2f}" in line
            movers = "  ".join(f"'{trace.tokens[k]}' {trace.delta[k]:+.2f}" for k in trace.movers(t))
            assert line.endswith(f"moved most: {movers}")
            assert f"after {trace.tokens[t]!r}, token {t + 1} of 6" in text_of(app, "#ins-topk")
            seen.append(line)
        assert len(set(seen)) == 6 and "'good'" in seen[-1].split("moved most:")[1]
        assert "inspect.direction" not in {b.binding.id for b in app.screen.active_bindings.values()}


async def test_the_pane_on_a_bidirectional_attention_classifier(runs):
    text = "a good story"
    app = PaneApp(text)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await traced(pilot, app, runs / "att")
        row = app.query_one(DecisionRow)
        trace = pane.decision
        assert row.size.height == 3 and list(pane.parts) == ["forward →", "backward ←"]
        top = max(trace.attention)
        assert "".join(seg.text for seg in row.render_line(1)).rstrip() == " ".join(
            bar(a / top) * len(token) for a, token in zip(trace.attention, trace.tokens))
        assert f"α {trace.attention[0]:.2f}" in "".join(seg.text for seg in row.render_line(2))
        assert text_of(app, "#ins-header").startswith("forward → · t=0 token 'a'")

        await pilot.press("e")  # the other direction: the strip and the bars read the text backwards
        assert pane.part == "backward ←" and pane.data.tokens == ["story", "good", "a"]
        assert "".join(seg.text for seg in row.render_line(0)).rstrip() == " ".join(
            bar(trace.probs[j][trace.label]) * len(trace.tokens[j]) for j in (2, 1, 0))
        await pilot.press("right")
        assert f"α {trace.attention[1]:.2f}" in "".join(seg.text for seg in row.render_line(2))
        assert "after 'good', token 2 of 3" in text_of(app, "#ins-topk")
