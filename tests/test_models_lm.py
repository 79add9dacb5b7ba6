"""The language model: its three ways to run (forward, step, trace) agree, and its options work."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnn_tui.config import ModelConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.trace import state_before_step
from rnn_tui.models.cells import CELLS
from rnn_tui.models.init import init_weights
from rnn_tui.models.lm import LanguageModel

V, B, T = 11, 3, 9
TOL = 1e-5


def _model(**kw) -> LanguageModel:
    cfg = ModelConfig(**{"cell": "lstm", "layers": 1, "hidden": 16, "embed": 8, **kw})
    return LanguageModel(cfg, V)


def _max_diff(a, b) -> float:
    return float((a - b).detach().abs().max())


@pytest.mark.parametrize("cell", list(CELLS))
def test_forward_shapes(cell: str) -> None:
    torch.manual_seed(0)
    m = _model(cell=cell, layers=2, dropout=0.2)
    logits, state = m(torch.randint(0, V, (B, T)))
    assert logits.shape == (B, T, V)
    assert len(state) == (2 if CELLS[cell].has_c else 1) and state[0].shape == (2, B, 16)
    logits2, _ = m(torch.randint(0, V, (B, T)), state)  # a carried state is accepted
    assert logits2.shape == (B, T, V)
    assert m.init_state(4)[0].shape == (2, 4, 16)


@pytest.mark.parametrize("cell,layers,embed", [("lstm", 2, 8), ("gru", 1, 8), ("rnn", 3, 0),
                                               ("peephole-lstm", 2, 8), ("rnn-relu", 1, 8)])
def test_step_equals_forward(cell: str, layers: int, embed: int) -> None:
    torch.manual_seed(1)
    m = _model(cell=cell, layers=layers, embed=embed, dropout=0.3).eval()
    idx = torch.randint(0, V, (B, T))
    with torch.no_grad():
        logits, final = m(idx)
    state, steps = None, []
    for t in range(T):
        lg, state = m.step(idx[:, t], state)
        steps.append(lg)
    assert _max_diff(torch.stack(steps, 1), logits) <= TOL
    for a, b in zip(state, final):
        assert _max_diff(a, b) <= TOL


@pytest.mark.parametrize("cell", ["lstm", "gru", "peephole-lstm"])
def test_trace_matches_forward(cell: str) -> None:
    torch.manual_seed(2)
    m = _model(cell=cell, layers=2).eval()
    ids = torch.randint(0, V, (T,)).tolist()
    with torch.no_grad():
        x = m.embed(torch.tensor([ids]))
        out, (h_final, *_rest) = m.rnn(x)
        logits, _ = m(torch.tensor([ids]))
    tr = m.trace(ids, topk=4)
    assert tr.tokens == ids and (tr.cell, tr.layers, tr.hidden) == (cell, 2, 16)
    assert set(tr.vectors) == {f"{k}.{n}" for k in range(2) for n in CELLS[cell].vectors}
    assert all(v.shape == (T, 16) and v.dtype == torch.float32 for v in tr.vectors.values())
    assert _max_diff(tr.vectors["1.h"], out[0]) <= TOL
    assert _max_diff(tr.vectors["0.h"][-1], h_final[0, 0]) <= TOL
    probs = torch.softmax(logits[0], -1)
    top = torch.topk(probs, 4, dim=-1)
    assert tr.topk_ids.shape == (T, 4) and torch.equal(tr.topk_ids, top.indices)
    assert _max_diff(tr.topk_probs, top.values) <= TOL
    want = torch.log_softmax(logits[0, :-1], -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    assert tr.next_logprob.shape == (T - 1,) and _max_diff(tr.next_logprob, want) <= TOL
    assert m.trace(torch.tensor(ids), topk=50).topk_ids.shape == (T, V)  # k capped at the vocab
    with pytest.raises(RnnTuiError):
        m.trace([])


def test_trace_state_before_each_step() -> None:
    """state_before_step: the initial state at t = 0, what step t − 1 left after; stepping the
    cell from it reproduces step t (layer 1 reads layer 0's h)."""
    torch.manual_seed(3)
    m = _model(cell="lstm", layers=2).eval()
    tr = m.trace([1, 2, 3, 4])
    assert all(float(s.abs().sum()) == 0 for s in tr.state_before[1])  # zeros before t = 0
    w = m.rnn.layer_weights(1)
    for t in (0, 2):
        prev = state_before_step(tr.vectors, 1, t, tr.state_before[1])
        if t:
            assert torch.equal(prev[0], tr.vectors["1.h"][t - 1]) and torch.equal(prev[1], tr.vectors["1.c"][t - 1])
        gx = F.linear(tr.vectors["0.h"][t], w["w_ih"], w["b_ih"])
        with torch.no_grad():
            (h, c), _ = CELLS["lstm"].step(gx[None], tuple(s[None] for s in prev), w["w_hh"], w["b_hh"])
        assert _max_diff(h[0], tr.vectors["1.h"][t]) <= TOL and _max_diff(c[0], tr.vectors["1.c"][t]) <= TOL


def test_tie_weights() -> None:
    m = _model(hidden=16, embed=16, tie_weights=True)
    assert m.head.weight is m.embed.weight
    assert m.head.weight.data_ptr() == m.embed.weight.data_ptr()
    untied = _model(hidden=16, embed=16)
    assert m.num_params() == untied.num_params() - V * 16
    logits, _ = m(torch.randint(0, V, (B, T)))
    logits.sum().backward()  # both uses reach the one matrix
    assert m.embed.weight.grad is not None
    assert float(logits.detach().abs().max()) < 10  # initialised at the head's scale
    with pytest.raises(RnnTuiError, match="tie-weights"):
        _model(hidden=16, embed=8, tie_weights=True)
    with pytest.raises(RnnTuiError, match="one-hot"):
        _model(hidden=16, embed=0, tie_weights=True)


def test_one_hot_input() -> None:
    torch.manual_seed(4)
    m = _model(embed=0)
    assert m.embed is None and m.rnn.layer_weights(0)["w_ih"].shape == (4 * 16, V)
    idx = torch.randint(0, V, (B, T))
    logits, _ = m(idx)
    assert logits.shape == (B, T, V)
    # one-hot through W_ih is column selection: same as an embedding with E = W_ih^T
    gx = F.linear(F.one_hot(idx, V).float(), m.rnn.layer_weights(0)["w_ih"])
    assert _max_diff(gx, m.rnn.layer_weights(0)["w_ih"].T[idx]) <= TOL


def test_init_schemes() -> None:
    torch.manual_seed(5)
    H = 16
    m = _model(cell="gru", layers=2, init="orthogonal")
    for k in range(2):
        w = {n: t.detach() for n, t in m.rnn.layer_weights(k).items()}
        for block in w["w_hh"].detach().split(H):
            assert _max_diff(block @ block.T, torch.eye(H)) < 1e-4
        assert float(w["b_ih"].abs().sum()) == 0 and float(w["b_hh"].abs().sum()) == 0
    assert float(m.head.bias.detach().abs().sum()) == 0

    x = _model(cell="lstm", init="xavier")
    w = {n: t.detach() for n, t in x.rnn.layer_weights(0).items()}
    bound = (6 / (H + 4 * H)) ** 0.5  # xavier_uniform on W_hh (4H × H)
    assert float(w["w_hh"].abs().max()) <= bound and float(w["b_hh"].abs().sum()) == 0
    # xavier on the orthogonal one's blocks would not be orthogonal: the test can fail
    block = w["w_hh"].detach()[:H]
    assert _max_diff(block @ block.T, torch.eye(H)) > 0.1

    for cell in ("lstm", "peephole-lstm"):
        for scheme in ("default", "xavier", "orthogonal"):
            f = _model(cell=cell, layers=2, init=scheme, forget_bias=1.0)
            for k in range(2):
                w = {n: t.detach() for n, t in f.rnn.layer_weights(k).items()}
                assert torch.equal(w["b_ih"][H:2 * H], torch.ones(H))
                assert torch.equal(w["b_hh"][H:2 * H], torch.zeros(H))
                assert float(w["b_ih"][:H].abs().sum()) > 0 or scheme != "default"  # other gates untouched

    # forget_bias is a no-op for cells without a forget gate; 0 leaves the default alone
    torch.manual_seed(6)
    a = _model(cell="gru", forget_bias=1.0)
    torch.manual_seed(6)
    b = _model(cell="gru")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(RnnTuiError):
        init_weights(a, "he")


@pytest.mark.parametrize("cell", ["lstm", "peephole-lstm"])
def test_sgd_learns_repeating_text(cell: str) -> None:
    torch.manual_seed(7)
    m = _model(cell=cell, hidden=24, forget_bias=1.0, init="xavier")
    pattern = [0, 1, 2, 3, 1, 4]
    data = torch.tensor(pattern * 30)
    x, y = data[:-1].view(1, -1)[:, :96].reshape(4, 24), data[1:].view(1, -1)[:, :96].reshape(4, 24)
    opt = torch.optim.SGD(m.parameters(), lr=1.0)
    losses = []
    for _ in range(30):
        logits, _ = m(x)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
