"""The inspection core (rnn_tui/inspect/): a trace as plain lists per part, the state before each
step, the units' orders, and the JSON of `rnn-tui inspect` for language models and translators.
Real models (small, untrained: the structure is what is tested) wrapped the way load_run does."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rnn_tui.api import LoadedRun, LoadedTranslator
from rnn_tui.config import Config
from rnn_tui.data.tokenizers import get_tokenizer
from rnn_tui.data.vocab import Vocab
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.equations import unit_equation
from rnn_tui.inspect.export import lm_to_dict, translation_to_dict
from rnn_tui.inspect.trace import equation_lines, lm_trace, state_before_step, translation_trace
from rnn_tui.inspect.units import SORTS, unit_order, variance
from rnn_tui.models.cells import CELLS
from rnn_tui.models.lm import LanguageModel
from rnn_tui.models.seq2seq import Seq2Seq

H = 8
TOL = 1e-5

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _lm(cell: str = "lstm", layers: int = 2) -> LoadedRun:
    torch.manual_seed(0)
    cfg = Config()
    cfg.model.cell, cfg.model.layers, cfg.model.hidden, cfg.model.embed = cell, layers, H, 4
    vocab = Vocab.build("abcd ")
    model = LanguageModel(cfg.validate().model, len(vocab)).eval()
    return LoadedRun(run=None, config=cfg, model=model, vocab=vocab, tokenizer=get_tokenizer("char"), meta={})


def _translator(cell: str = "lstm", attention: str = "additive", bidirectional: bool = True) -> LoadedTranslator:
    torch.manual_seed(1)
    cfg = Config(task="seq2seq")
    m = cfg.model
    m.cell, m.layers, m.hidden, m.embed, m.attention, m.bidirectional = cell, 2, H, 4, attention, bidirectional
    src, tgt = Vocab.build(["one", "two", "three", "four"]), Vocab.build("一二三四")
    model = Seq2Seq(cfg.validate().model, len(src), len(tgt)).eval()
    return LoadedTranslator(run=None, config=cfg, model=model, src_vocab=src, tgt_vocab=tgt,
                            src_tokenizer=get_tokenizer("word"), tgt_tokenizer=get_tokenizer("char"), meta={})


def _step(rec, layer: int, x: torch.Tensor, prev) -> tuple[torch.Tensor, ...]:
    """One step of ``rec``'s layer from the state ``prev`` (lists), through the cell's step function."""
    w = rec.layer_weights(layer)
    extra = (w["w_peep"],) if "w_peep" in w else ()
    state = tuple(torch.tensor([s]) for s in prev)
    with torch.no_grad():
        new, _ = rec.spec.step(F.linear(x[None], w["w_ih"], w["b_ih"]), state, w["w_hh"], w["b_hh"], *extra)
    return tuple(s[0] for s in new)


# -- a language model ----------------------------------------------------------------------------


def test_lm_trace_as_lists_with_ranges_kinds_and_unknown_tokens():
    loaded = _lm()
    data = lm_trace(loaded, "abcx a", topk=3)
    trace = loaded.trace("abcx a", topk=3)
    assert data.tokens == list("abcx a") and data.read == ["a", "b", "c", "<unk>", " ", "a"] and data.unknown == {3}
    assert data.ids == trace.tokens and data.actual == list("bcx a")
    assert data.vectors == CELLS["lstm"].vectors and data.part == "" and data.length == 6
    for key, v in trace.vectors.items():
        assert data.by_time[key] == v.tolist() and data.by_unit[key] == v.t().tolist()
    for name in data.vectors:
        values = torch.cat([trace.vectors[f"{k}.{name}"] for k in range(2)])
        lo, hi = data.ranges[name]
        assert lo <= float(values.min()) and float(values.max()) <= hi
        if name in ("i", "f", "o"):
            assert data.kinds[name] == "sequential" and (lo, hi) == (0.0, 1.0)
        else:  # diverging: symmetric, at least −1..1
            assert data.kinds[name] == "diverging" and lo == -hi and hi >= 1
    assert [len(row) for row in data.topk] == [3] * 6 and data.topk[0][0][1] >= data.topk[0][1][1]
    assert len(data.next_logprob) == 5 and all(lp < 0 for lp in data.next_logprob)


@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole-lstm"])
def test_state_before_step_and_the_equations_of_a_language_model(cell):
    loaded = _lm(cell)
    data = lm_trace(loaded, "abcab")
    n_state = 2 if CELLS[cell].has_c else 1
    for layer in range(2):
        assert state_before_step(data.by_time, layer, 0, data.state_before[layer]) == ([0.0] * H,) * n_state
    for t in (0, 1, 4):
        prev = state_before_step(data.by_time, 1, t, data.state_before[1])
        if t:
            assert prev[0] == data.by_time["1.h"][t - 1]
        # stepping layer 1 from that state on layer 0's h at t gives layer 1's h at t
        h = _step(loaded.model.rnn, 1, torch.tensor(data.by_time["0.h"][t]), prev)[0]
        assert float((h - torch.tensor(data.by_time["1.h"][t])).abs().max()) <= TOL
        # the equation panel's lines are unit_equation on these numbers
        unit = 3
        parts = {name: data.by_time[f"1.{name}"][t][unit] for name in data.vectors}
        assert equation_lines(data, 1, t, unit) == unit_equation(cell, parts, tuple(s[unit] for s in prev))


def test_lm_json_is_the_trace():
    loaded = _lm()
    result = lm_to_dict(lm_trace(loaded, "abx"), layer=1)
    trace = loaded.trace("abx")
    assert result["tokens"] == ["a", "b", "<unk>"] and result["ids"] == trace.tokens
    assert [step["layers"][0]["layer"] for step in result["steps"]] == [1, 1, 1]
    assert result["steps"][2]["layers"][0]["f"] == [round(v, 5) for v in trace.vectors["1.f"][2].tolist()]
    assert result["steps"][0]["next_token"] == "b" and "next_token" not in result["steps"][2]
    assert result["gates"] == ["i", "f", "g", "o"] and result["equations"][2] == "c_t = f ⊙ c_{t-1} + i ⊙ g"
    with pytest.raises(RnnTuiError, match="--layer must be between 0 and 1"):
        lm_to_dict(lm_trace(loaded, "ab"), layer=2)


# -- unit orders ---------------------------------------------------------------------------------


def test_unit_orders():
    loaded = _lm()
    data = lm_trace(loaded, "abcdabcd")
    h = loaded.trace("abcdabcd").vectors["0.h"]
    assert SORTS == ("none", "variance", "|activation|")
    assert unit_order(data, "0.h", "none", 0) == list(range(H))
    var = h.var(0, unbiased=False)
    assert unit_order(data, "0.h", "variance", 0) == sorted(range(H), key=lambda u: -float(var[u]))
    assert data.variance["0.h"] == pytest.approx(var.tolist(), abs=1e-6)  # kept for the next call
    assert unit_order(data, "0.h", "|activation|", 5) == sorted(range(H), key=lambda u: -abs(float(h[5, u])))
    assert variance([]) == 0.0 and variance([1.0, 3.0]) == 1.0
    with pytest.raises(ValueError, match="unknown unit order"):
        unit_order(data, "0.h", "random", 0)


# -- a translator --------------------------------------------------------------------------------


def test_translation_json_encoder_both_ways_decoder_and_attention():
    loaded = _translator()
    result = translation_to_dict(translation_trace(loaded, "one two three four => 二三一"))
    trace = loaded.trace("one two three four", "二三一")
    S, T = 4, 4  # four source words; three target characters and <eos>
    assert result["task"] == "seq2seq" and result["forced"] and result["target"] == "二三一"
    assert result["source_tokens"] == ["one", "two", "three", "four"] and result["unknown"] == []
    assert result["output_tokens"] == ["二", "三", "一", "<eos>"] and result["translation"] == "二三一"

    forward, backward = result["encoder"]["forward"], result["encoder"]["backward"]
    assert [s["token"] for s in forward] == result["source_tokens"] and [s["position"] for s in forward] == [0, 1, 2, 3]
    assert [s["token"] for s in backward] == ["four", "three", "two", "one"]  # its reading order
    assert [s["position"] for s in backward] == [3, 2, 1, 0]
    for steps in (forward, backward):
        assert len(steps) == S and all(len(s["layers"]) == 2 for s in steps)
        assert all(set(layer) == {"layer", *CELLS["lstm"].vectors} and len(layer["h"]) == H
                   for s in steps for layer in s["layers"])
    assert backward[0]["layers"][1]["h"] == [round(v, 5) for v in trace.encoder["b1.h"][S - 1].tolist()]
    assert forward[0]["layers"][1]["h"] == [round(v, 5) for v in trace.encoder["1.h"][0].tolist()]

    decoder = result["decoder"]
    assert [s["input"] for s in decoder] == ["<bos>", "二", "三", "一"]
    assert [s["output"] for s in decoder] == result["output_tokens"]
    assert all(len(s["topk"]) == 5 and len(s["layers"]) == 2 for s in decoder)
    assert [s["logprob"] for s in decoder] == [round(v, 5) for v in trace.logprobs.tolist()]
    attention = result["attention"]
    assert len(attention) == T and all(len(row) == S for row in attention)
    assert all(abs(sum(row) - 1) < 1e-4 for row in attention)

    only = translation_to_dict(translation_trace(loaded, "one two", "一"), layer=0)
    assert only["output_tokens"] == ["一", "<eos>"] and only["target"] == "一"
    assert all([layer["layer"] for layer in s["layers"]] == [0] for s in only["decoder"])


def test_translation_state_before_each_step():
    """Every part reads "before t" as t − 1 with the same function: the encoder ← too, because
    it is kept in its reading order; stepping each cell from that state reproduces the step."""
    loaded = _translator()
    tr = translation_trace(loaded, "one two three", "一二")
    model = loaded.model
    emb = model.src_embed.weight.detach()
    for name, rec in (("encoder →", model.encoder), ("encoder ←", model.encoder_b)):
        data = tr.parts[name]
        assert data.state_before == [[[0.0] * H, [0.0] * H]] * 2  # both directions start from zeros
        for t in range(3):
            prev = state_before_step(data.by_time, 0, t, data.state_before[0])
            assert prev == (tuple(data.state_before[0]) if t == 0 else (data.by_time["0.h"][t - 1], data.by_time["0.c"][t - 1]))
            h = _step(rec, 0, emb[data.ids[t]], prev)[0]
            assert float((h - torch.tensor(data.by_time["0.h"][t])).abs().max()) <= TOL, (name, t)

    decoder = tr.parts["decoder"]
    with torch.no_grad():
        enc = model.encode(torch.tensor([tr.parts["encoder →"].ids]), torch.tensor([3]))
    s_0 = state_before_step(decoder.by_time, 1, 0, decoder.state_before[1])
    assert float((torch.tensor(s_0[0]) - enc.state[0][1, 0]).abs().max()) <= TOL  # the encoder's s_0
    for t in (1, 2):
        prev = state_before_step(decoder.by_time, 1, t, decoder.state_before[1])
        assert prev[1] == decoder.by_time["1.c"][t - 1]
        h = _step(model.decoder, 1, torch.tensor(decoder.by_time["0.h"][t]), prev)[0]  # layer 1 reads layer 0's h
        assert float((h - torch.tensor(decoder.by_time["1.h"][t])).abs().max()) <= TOL


def test_translation_greedy_notes_and_unknown_words():
    from rnn_tui.decode.beam import greedy

    loaded = _translator(cell="gru", attention="dot", bidirectional=False)
    tr = translation_trace(loaded, "one five two")
    assert tr.target is None and list(tr.parts) == ["encoder →", "decoder"]
    ids = loaded.src_vocab.encode(["one", "five", "two"])
    hyp = greedy(loaded.model, ids)
    assert tr.outputs[: len(hyp.ids)] == loaded.tgt_vocab.decode(hyp.ids) and tr.translation == loaded.detokenize(hyp.ids)
    enc = tr.parts["encoder →"]
    assert enc.unknown == {1} and enc.read[1] == "<unk>" and enc.tokens[1] == "five"
    assert enc.topk == [[], [], []] and "attend most" in enc.notes[0]
    assert tr.parts["decoder"].actual == tr.outputs
    result = translation_to_dict(tr)
    assert result["encoder"]["backward"] is None and result["unknown"] == ["five"] and not result["forced"]
    assert all(math.isclose(sum(row), 1, abs_tol=1e-4) for row in result["attention"])

    plain = translation_trace(_translator(attention="none", bidirectional=False), "one", "一")
    assert plain.attention is None and "no attention" in plain.parts["encoder →"].notes[0]
    assert translation_to_dict(plain)["attention"] is None

    with pytest.raises(RnnTuiError, match="not both"):
        translation_trace(loaded, "one => 一", "二")
    with pytest.raises(RnnTuiError, match="--layer"):
        translation_to_dict(tr, layer=2)
