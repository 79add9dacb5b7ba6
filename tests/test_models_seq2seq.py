"""The seq2seq model: its ways to run (forward, decode_step, trace) agree, padding never changes a
result, attention is masked, scheduled sampling feeds what it says, and the whole thing learns."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from rnn_tui.config import ATTENTIONS, ModelConfig
from rnn_tui.data.pairs import pad_batch
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.trace import state_before_step
from rnn_tui.models.cells import CELLS
from rnn_tui.models.seq2seq import BOS, EOS, PAD, Seq2Seq, loss, reorder_state

SV, TV, H, E = 9, 11, 12, 6
TOL = 1e-5
SRCS = [[4, 5, 6, 7, 8], [5, 6], [7, 8, 4], [6]]
TGTS = [[4, 5, 6], [7, 8, 9, 10, 4, 5], [6], [9, 9, 8, 7]]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(**kw) -> Seq2Seq:
    cfg = ModelConfig(**{"cell": "gru", "layers": 1, "hidden": H, "embed": E, "attention": "additive", **kw})
    return Seq2Seq(cfg, SV, TV)


def _batch(srcs=SRCS, tgts=TGTS, extra_pad: int = 0):
    src, src_len, _ = pad_batch(srcs, PAD)
    if extra_pad:  # padding beyond the longest sentence must not matter either
        src = torch.cat([src, torch.zeros(len(srcs), extra_pad, dtype=torch.long)], 1)
    tgt_in, tgt_len, _ = pad_batch(tgts, PAD, bos_id=BOS)
    tgt_out, _, _ = pad_batch(tgts, PAD, eos_id=EOS)
    return src, src_len, tgt_in, tgt_len, tgt_out


def _max_diff(a, b) -> float:
    return float((a - b).detach().abs().max())


@pytest.mark.parametrize("attention,bidirectional", list(itertools.product(ATTENTIONS, [False, True])))
def test_shapes(attention: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    m = _model(cell="lstm", layers=2, attention=attention, bidirectional=bidirectional, dropout=0.1)
    src, src_len, tgt_in, _, tgt_out = _batch()
    B, S, T = src.size(0), src.size(1), tgt_in.size(1)
    logits, attn = m(src, src_len, tgt_in)
    assert logits.shape == (B, T, TV)
    assert (attn is None) == (attention == "none")
    if attn is not None:
        assert attn.shape == (B, T, S)
    enc = m.encode(src, src_len)
    He = 2 * H if bidirectional else H
    assert enc.outputs.shape == (B, S, He) and enc.mask.shape == (B, S) and enc.mask.dtype == torch.bool
    assert torch.equal(enc.mask.sum(1), src_len)
    assert len(enc.state) == 2 and all(s.shape == (2, B, H) for s in enc.state)
    assert (enc.context is None) == (attention != "none")
    if attention == "none":
        assert enc.keys is None and enc.context.shape == (B, H)
        assert torch.equal(enc.context, enc.state[0][-1])
    else:
        assert enc.keys.shape == (B, S, H)
    index = torch.tensor([2, 0, 2])
    sel = enc.select(index)
    assert sel.outputs.shape == (3, S, He) and torch.equal(sel.outputs[0], enc.outputs[2])
    assert all(torch.equal(a, b) for a, b in zip(sel.state, reorder_state(enc.state, index)))
    assert sel.state[0].shape == (2, 3, H) and torch.equal(sel.state[1][:, 1], enc.state[1][:, 0])
    value = loss(logits, tgt_out)
    value.backward()
    unused = [n for n, p in m.named_parameters() if p.grad is None]
    assert not unused, unused  # every weight takes part
    assert m.num_params() == sum(p.numel() for p in m.parameters()) > 0


@pytest.mark.parametrize("attention,cell,bidirectional,layers",
                         list(itertools.product(ATTENTIONS, ["rnn", "gru", "lstm"], [False, True], [1, 2])))
def test_decode_step_reproduces_forward(attention: str, cell: str, bidirectional: bool, layers: int) -> None:
    torch.manual_seed(1)
    m = _model(cell=cell, layers=layers, attention=attention, bidirectional=bidirectional, dropout=0.3).eval()
    src, src_len, tgt_in, _, _ = _batch()
    with torch.no_grad():
        logits, attn = m(src, src_len, tgt_in)
    enc = m.encode(src, src_len)
    state, steps, alphas = enc.state, [], []
    for y in tgt_in.unbind(1):
        lg, state, a = m.decode_step(y, state, enc)
        steps.append(lg)
        alphas.append(a)
    assert _max_diff(torch.stack(steps, 1), logits) <= TOL
    if attn is not None:
        assert _max_diff(torch.stack(alphas, 1), attn) <= TOL


@pytest.mark.parametrize("attention,cell,bidirectional", [("none", "lstm", True), ("none", "gru", False),
                                                          ("additive", "lstm", True), ("additive", "rnn", False),
                                                          ("dot", "gru", True), ("general", "lstm", False)])
def test_padding_never_changes_a_result(attention: str, cell: str, bidirectional: bool) -> None:
    torch.manual_seed(2)
    m = _model(cell=cell, layers=2, attention=attention, bidirectional=bidirectional).eval()
    src, src_len, tgt_in, _tgt_len, _ = _batch(extra_pad=3)
    with torch.no_grad():
        logits, attn = m(src, src_len, tgt_in)
        enc = m.encode(src, src_len)
        for i, (s, t) in enumerate(zip(SRCS, TGTS)):
            S, T = len(s), len(t) + 1
            one, one_attn = m(torch.tensor([s]), torch.tensor([S]), tgt_in[i:i + 1, :T])
            assert _max_diff(one[0], logits[i, :T]) <= TOL
            alone = m.encode(torch.tensor([s]), torch.tensor([S]))
            assert _max_diff(alone.outputs[0], enc.outputs[i, :S]) <= TOL
            assert float(enc.outputs[i, S:].abs().max()) == 0.0  # pads of the encoder output are 0
            for a, b in zip(alone.state, enc.state):
                assert _max_diff(a[:, 0], b[:, i]) <= TOL
            if attn is not None:
                assert _max_diff(one_attn[0], attn[i, :T, :S]) <= TOL
                assert float(attn[i, :, S:].abs().max()) == 0.0  # exactly 0 on pads


def test_bidirectional_reads_each_sentence_backwards_within_its_length() -> None:
    torch.manual_seed(3)
    m = _model(cell="gru", bidirectional=True, attention="dot").eval()
    src, src_len, _, _, _ = _batch(extra_pad=2)
    with torch.no_grad():
        enc = m.encode(src, src_len)
        for i, s in enumerate(SRCS):
            back, final = m.encoder_b(m.src_embed(torch.tensor([s[::-1]])))
            assert _max_diff(enc.outputs[i, :len(s), H:], back[0].flip(0)) <= TOL  # ←h_j at position j
            _fwd, ffinal = m.encoder(m.src_embed(torch.tensor([s])))
            s0 = torch.tanh(m.bridge[0](torch.cat([ffinal[0][:, 0], final[0][:, 0]], -1)))
            assert _max_diff(enc.state[0][:, i], s0) <= TOL


@pytest.mark.parametrize("attention", ["additive", "dot", "general"])
def test_attention_is_masked_softmax(attention: str) -> None:
    torch.manual_seed(4)
    m = _model(attention=attention, bidirectional=True).eval()
    src, src_len, tgt_in, _, _ = _batch(extra_pad=1)
    with torch.no_grad():
        _, attn = m(src, src_len, tgt_in)
    assert _max_diff(attn.sum(-1), torch.ones(attn.shape[:2])) <= 1e-6
    mask = torch.arange(src.size(1))[None, :] < src_len[:, None]
    assert torch.all(attn.masked_select(~mask[:, None, :].expand_as(attn)) == 0)
    assert torch.all(attn.masked_select(mask[:, None, :].expand_as(attn)) > 0)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_scheduled_sampling_at_ratio_0_feeds_the_argmax(attention: str) -> None:
    torch.manual_seed(5)
    m = _model(cell="lstm", layers=2, attention=attention).eval()
    src, src_len, tgt_in, _, _ = _batch()
    with torch.no_grad():
        logits, _attn = m(src, src_len, tgt_in, teacher_forcing=0.0)
        enc = m.encode(src, src_len)
        y, state, steps = tgt_in[:, 0], enc.state, []
        for _ in range(tgt_in.size(1)):
            lg, state, _ = m.decode_step(y, state, enc)
            steps.append(lg)
            y = lg.argmax(-1)
        assert _max_diff(torch.stack(steps, 1), logits) <= TOL
        # the ratio is a probability per sentence and step; the generator makes it repeatable
        a, _ = m(src, src_len, tgt_in, 0.5, torch.Generator().manual_seed(7))
        b, _ = m(src, src_len, tgt_in, 0.5, torch.Generator().manual_seed(7))
        assert torch.equal(a, b)
        forced, _ = m(src, src_len, tgt_in)
        assert _max_diff(a[:, 0], forced[:, 0]) <= TOL  # <bos> is always read first
        assert _max_diff(a, forced) > 1e-3 and _max_diff(a, logits) > 1e-3  # a mixture of both


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_training_step_loop_matches_eval_without_dropout(attention: str) -> None:
    # training with dropout between layers runs the fused kernel one step at a time; with the
    # dropout probabilities set to 0 it must give the eval-mode numbers
    torch.manual_seed(6)
    m = _model(cell="lstm", layers=2, attention=attention, dropout=0.3)
    src, src_len, tgt_in, _, _ = _batch()
    m.eval()
    with torch.no_grad():
        want, _ = m(src, src_len, tgt_in, teacher_forcing=0.0)
    m.train()
    for mod in m.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    for rnn in (m.encoder, m.decoder):
        rnn.core.dropout = 0.0
    got, _ = m(src, src_len, tgt_in, teacher_forcing=0.0)
    assert _max_diff(got, want) <= TOL


def test_init_schemes_reach_encoder_and_decoder() -> None:
    m = _model(cell="lstm", layers=2, bidirectional=True, init="orthogonal", forget_bias=1.0)
    for rnn in (m.encoder, m.encoder_b, m.decoder):
        for k in range(2):
            w = {n: t.detach() for n, t in rnn.layer_weights(k).items()}
            block = w["w_hh"][:H]
            assert _max_diff(block @ block.T, torch.eye(H)) < 1e-4
            assert torch.equal(w["b_ih"][H:2 * H], torch.ones(H))
    assert float(m.head.bias.detach().abs().sum()) == 0 and float(m.bridge[1].bias.detach().abs().sum()) == 0


def test_loss_is_the_mean_over_real_tokens() -> None:
    torch.manual_seed(7)
    logits = torch.randn(2, 3, 5)
    tgt = torch.tensor([[4, 3, 0], [2, 0, 0]])
    logp = torch.log_softmax(logits, -1)
    want = -(logp[0, 0, 4] + logp[0, 1, 3] + logp[1, 0, 2]) / 3
    assert abs(float(loss(logits, tgt)) - float(want)) <= 1e-6


def test_learns_to_reverse_digits() -> None:
    from rnn_tui.decode.beam import greedy_batch

    torch.manual_seed(0)
    rng = random.Random(0)

    def sample(n: int) -> list[list[int]]:
        return [[rng.randrange(4, 14) for _ in range(rng.randint(3, 6))] for _ in range(n)]

    m = Seq2Seq(ModelConfig(cell="lstm", hidden=32, embed=16, attention="additive"), 14, 14)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(250):
        srcs = sample(32)
        tgts = [s[::-1] for s in srcs]
        src, src_len, tgt_in, _, tgt_out = _batch(srcs, tgts)
        value = loss(m(src, src_len, tgt_in)[0], tgt_out)
        opt.zero_grad()
        value.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    test = sample(200)
    out = greedy_batch(m, test)
    accuracy = sum(o == s[::-1] for o, s in zip(out, test)) / len(test)
    assert accuracy > 0.9, accuracy
    assert m.trace(test[0]).tgt_ids == [*test[0][::-1], EOS]


@pytest.mark.parametrize("attention,cell,bidirectional", [("additive", "lstm", True), ("dot", "gru", False),
                                                          ("none", "rnn", True), ("general", "lstm", False)])
def test_trace(attention: str, cell: str, bidirectional: bool) -> None:
    torch.manual_seed(8)
    m = _model(cell=cell, layers=2, attention=attention, bidirectional=bidirectional)
    src_ids, tgt_ids = SRCS[0], TGTS[1]
    tr = m.trace(src_ids, tgt_ids, topk=4)
    assert m.training  # the mode comes back
    m.eval()
    S, T = len(src_ids), len(tgt_ids) + 1
    names = CELLS[cell].vectors
    want_enc = {f"{k}.{n}" for k in range(2) for n in names}
    if bidirectional:
        want_enc |= {f"b{k}.{n}" for k in range(2) for n in names}
    assert set(tr.encoder) == want_enc and all(v.shape == (S, H) for v in tr.encoder.values())
    assert set(tr.decoder) == {f"{k}.{n}" for k in range(2) for n in names}
    assert all(v.shape == (T, H) and v.dtype == torch.float32 for v in tr.decoder.values())
    assert tr.tgt_ids == [*tgt_ids, EOS] and tr.inputs == [BOS, *tgt_ids]
    assert tr.topk_ids.shape == tr.topk_probs.shape == (T, 4) and tr.logprobs.shape == (T,)
    assert (tr.attention is None) == (attention == "none")

    enc = m.encode(torch.tensor([src_ids]), torch.tensor([S]))
    assert _max_diff(tr.encoder["1.h"], enc.outputs[0, :, :H]) <= TOL
    if bidirectional:
        assert _max_diff(tr.encoder["b1.h"], enc.outputs[0, :, H:]) <= TOL
    assert all(float(s.abs().sum()) == 0 for state in tr.encoder_state_before for s in state)  # h_0 = 0
    assert len(tr.encoder_state_before) == 2 and len(tr.encoder_state_before[0]) == len(enc.state)
    assert _max_diff(tr.decoder_state_before[1][0], enc.state[0][1, 0]) <= TOL
    state = enc.state
    for t, y in enumerate(tr.inputs):
        logits, state, alpha = m.decode_step(torch.tensor([y]), state, enc)
        assert _max_diff(tr.decoder["1.h"][t], state[0][-1, 0]) <= TOL
        assert _max_diff(tr.decoder["0.h"][t], state[0][0, 0]) <= TOL
        logp = torch.log_softmax(logits[0], -1)
        top = torch.topk(logp, 4)
        assert torch.equal(tr.topk_ids[t], top.indices)
        assert _max_diff(tr.topk_probs[t], top.values.exp()) <= TOL
        assert abs(float(tr.logprobs[t]) - float(logp[tr.tgt_ids[t]])) <= TOL
        if alpha is not None:
            assert _max_diff(tr.attention[t], alpha[0]) <= TOL
    assert _max_diff(state_before_step(tr.decoder, 0, 2, tr.decoder_state_before[0])[0], tr.decoder["0.h"][1]) == 0
    s_0 = state_before_step(tr.decoder, 1, 0, tr.decoder_state_before[1])  # t = 0: the encoder's s_0
    assert len(s_0) == len(enc.state) and all(a is b for a, b in zip(s_0, tr.decoder_state_before[1]))


def test_trace_decodes_greedily_without_a_target() -> None:
    from rnn_tui.decode.beam import greedy

    torch.manual_seed(9)
    m = _model(cell="lstm", attention="dot")
    with torch.no_grad():
        m.head.bias[EOS] += 2.0  # end somewhere before the limit
        m.head.bias[1] += 5.0  # <unk> is the most likely token, and must never be produced
    tr = m.trace(SRCS[2])
    hyp = greedy(m, SRCS[2])
    assert tr.tgt_ids == hyp.ids + ([EOS] if hyp.ended else [])
    assert not set(tr.tgt_ids) & {PAD, 1, BOS}
    assert len(tr.tgt_ids) <= 2 * len(SRCS[2]) + 10 and tr.decoder["0.h"].shape[0] == len(tr.tgt_ids)
    with pytest.raises(RnnTuiError):
        m.trace([])


def test_config_errors_are_one_line() -> None:
    with pytest.raises(RnnTuiError, match="embed") as err:
        _model(embed=0)
    assert "\n" not in str(err.value)
    for cell in ("peephole-lstm", "rnn-relu"):
        with pytest.raises(RnnTuiError, match="cell"):
            _model(cell=cell)
    with pytest.raises(RnnTuiError, match="attention"):
        _model(attention="multihead")
    with pytest.raises(RnnTuiError, match="tie-weights"):
        _model(tie_weights=True)
    with pytest.raises(RnnTuiError, match="no tokens"):
        _model().encode(torch.tensor([[4, 5], [0, 0]]), torch.tensor([2, 0]))


# -- forward's batched teacher-forced paths against the step loop ----------------------------------


def _loss_and_grads(m: Seq2Seq, run, src, src_len, tgt_in, tgt_out):
    m.zero_grad()
    logits, attn = run(src, src_len, tgt_in)
    value = loss(logits, tgt_out)
    value.backward()
    return value, logits, attn, {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}


def _assert_same_training(m: Seq2Seq, batch) -> None:
    src, src_len, tgt_in, _, tgt_out = batch
    got = _loss_and_grads(m, m.forward, src, src_len, tgt_in, tgt_out)
    want = _loss_and_grads(m, m.forward_steps, src, src_len, tgt_in, tgt_out)
    assert abs(float(got[0].detach()) - float(want[0].detach())) <= TOL
    real = tgt_out != PAD  # what a pad position scores is nobody's business
    assert _max_diff(got[1][real], want[1][real]) <= TOL
    assert (got[2] is None) == (want[2] is None)
    if got[2] is not None:
        assert _max_diff(got[2], want[2]) <= TOL
    assert got[3].keys() == want[3].keys() == {n for n, _ in m.named_parameters()}  # every weight learns
    for name, grad in got[3].items():  # to 1e-5, and to 1e-4 of the largest entry (gradients of a tiny model are small)
        scale = float(want[3][name].abs().max())
        assert _max_diff(grad, want[3][name]) <= min(TOL, 1e-4 * scale + 1e-8), name


@pytest.mark.parametrize("attention,layers,bidirectional,cell",
                         [(a, n, b, c) for a, n, b in itertools.product(ATTENTIONS, [1, 2], [False, True])
                          for c in (["gru", "lstm", "rnn"] if a == "additive" else ["gru", "lstm"])])
def test_forward_trains_as_the_step_loop(attention: str, layers: int, bidirectional: bool, cell: str) -> None:
    # training mode without dropout: the same loss, logits, α and gradients as one step at a time
    torch.manual_seed(10)
    m = _model(cell=cell, layers=layers, attention=attention, bidirectional=bidirectional)
    _assert_same_training(m, _batch(extra_pad=2))
    m.eval()  # eval with dropout set: none applied, the same numbers too
    m.cfg.dropout = 0.3
    _assert_same_training(m, _batch())


@pytest.mark.parametrize("cell,hidden", [("gru", 160), ("lstm", 128), ("rnn", 256)])
def test_forward_trains_as_the_step_loop_where_the_loop_products_are_packed(cell: str, hidden: int) -> None:
    # from 2¹⁶ weights (W_hh, W_q) the additive loop's products run on oneDNN's packed weights
    # (models/loop_products.py, where this torch has oneDNN): the same training still
    from rnn_tui.models import loop_products

    assert loop_products.StepProduct(torch.zeros(4 * 128, 128), 4).packed is not None or not loop_products.ONEDNN
    torch.manual_seed(16)
    m = _model(cell=cell, layers=2, hidden=hidden)
    _assert_same_training(m, _batch(extra_pad=1))


def test_forward_trains_as_the_step_loop_with_an_intervention() -> None:
    from rnn_tui.models.interventions import Intervention

    torch.manual_seed(11)
    m = _model(cell="lstm", layers=2)
    m.decoder.intervene([Intervention("freeze-gate", 1, 3, "f", 1.0), Intervention("clamp", 0, None, "c", 0.5)])
    _assert_same_training(m, _batch())


def test_additive_dropout_between_decoder_layers_is_drawn_and_repeatable() -> None:
    torch.manual_seed(12)
    m = _model(cell="gru", layers=2, dropout=0.5)
    for mod in m.modules():  # only the dropout between the decoder's layers stays on
        if isinstance(mod, torch.nn.Dropout):
            mod.p = 0.0
    m.encoder.core.dropout = 0.0
    src, src_len, tgt_in, _, _ = _batch()
    torch.manual_seed(0)
    a, _ = m(src, src_len, tgt_in)
    torch.manual_seed(0)
    b, _ = m(src, src_len, tgt_in)
    torch.manual_seed(1)
    c, _ = m(src, src_len, tgt_in)
    m.eval()
    plain, _ = m(src, src_len, tgt_in)
    assert torch.equal(a, b) and _max_diff(a, c) > 1e-3 and _max_diff(a, plain) > 1e-3


def test_a_second_backward_through_a_kept_graph_gives_the_same_gradients() -> None:
    torch.manual_seed(13)
    m = _model(cell="gru", bidirectional=True)
    src, src_len, tgt_in, _, tgt_out = _batch()
    value = loss(m(src, src_len, tgt_in)[0], tgt_out)
    value.backward(retain_graph=True)
    first = {n: p.grad.clone() for n, p in m.named_parameters()}
    m.zero_grad()
    value.backward()
    for n, p in m.named_parameters():
        assert _max_diff(p.grad, first[n]) == 0.0, n


def test_training_with_forward_or_the_step_loop_gives_the_same_translator() -> None:
    # the same tiny model trained twice, by forward and by forward_steps: the same weights, and
    # greedy and beam search translate every source alike
    from rnn_tui.decode.beam import beam_search, greedy_batch

    rng = random.Random(0)
    pairs = [(s, s[::-1]) for s in ([rng.randrange(4, SV) for _ in range(rng.randint(1, 6))] for _ in range(64))]
    models = []
    for batched in (True, False):
        torch.manual_seed(14)
        m = _model(cell="gru", bidirectional=True, hidden=16, embed=8)
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        run = m.forward if batched else m.forward_steps
        for step in range(30):
            chunk = pairs[(step * 16) % 64:(step * 16) % 64 + 16]
            src, src_len, tgt_in, _, tgt_out = _batch([s for s, _ in chunk], [t for _, t in chunk])
            opt.zero_grad()
            loss(run(src, src_len, tgt_in)[0], tgt_out).backward()
            opt.step()
        models.append(m.eval())
    a, b = models
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert _max_diff(p, q) <= 1e-4, name
    sources = [s for s, _ in pairs[:20]]
    assert greedy_batch(a, sources) == greedy_batch(b, sources)
    for s in sources[:8]:
        assert [h.ids for h in beam_search(a, s, beam=3, nbest=3)] == [h.ids for h in beam_search(b, s, beam=3, nbest=3)]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_additive_training_under_bf16_autocast(bidirectional: bool) -> None:
    # --precision bf16 runs forward under autocast: the batched additive path computes its attention
    # steps in bf16 (softmax in float32) and gives float32 weights their gradients, near the step loop's
    torch.manual_seed(15)
    m = _model(cell="gru", layers=2, bidirectional=bidirectional)
    src, src_len, tgt_in, _, tgt_out = _batch()
    got = []
    for run in (m.forward, m.forward_steps):
        m.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, attn = run(src, src_len, tgt_in)
            value = loss(logits, tgt_out)
        value.backward()
        assert attn.dtype == torch.bfloat16
        assert all(p.grad.dtype == torch.float32 and bool(p.grad.isfinite().all()) for p in m.parameters())
        got.append((float(value.detach()), {n: p.grad.clone() for n, p in m.named_parameters()}))
    assert abs(got[0][0] - got[1][0]) <= 1e-2
    for name, grad in got[0][1].items():
        assert _max_diff(grad, got[1][1][name]) <= 2e-2 * float(got[1][1][name].abs().max()) + 1e-3, name
