"""The classifier: padding never changes a result (every cell, pooling, direction), prefix_probs
is forward on each prefix, attention is masked, every weight learns, and it learns a task."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from rnn_tui.config import CELL_NAMES, ModelConfig
from rnn_tui.data.pairs import pad_batch
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.classifier import POOLINGS, Classifier

V, C, H, E = 13, 3, 8, 5
TOL = 1e-5
TEXTS = [[4, 5, 6, 7, 8], [5, 6], [7, 8, 4, 9, 10, 11, 12, 4], [6]]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(pooling: str = "attention", **kw) -> Classifier:
    cfg = ModelConfig(**{"cell": "gru", "layers": 1, "hidden": H, "embed": E, **kw})
    return Classifier(cfg, V, C, pooling)


def _batch(texts=TEXTS, extra_pad: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded with random token ids (and extra columns): what sits on a pad must never count."""
    x, lengths, mask = pad_batch(texts, 0)
    x = torch.cat([x, torch.zeros(len(texts), extra_pad, dtype=torch.long)], 1)
    mask = F.pad(mask, (0, extra_pad))
    noise = torch.randint(4, V, x.shape, generator=torch.Generator().manual_seed(seed))
    return torch.where(mask, x, noise), lengths


def _alone(m: Classifier, text: list[int]) -> torch.Tensor:
    return m(torch.tensor([text]), torch.tensor([len(text)]))[0]


def _max_diff(a, b) -> float:
    return float((a - b).detach().abs().max())


@pytest.mark.parametrize("pooling,bidirectional", list(itertools.product(POOLINGS, [False, True])))
def test_shapes_and_every_weight_learns(pooling: str, bidirectional: bool) -> None:
    torch.manual_seed(0)
    m = _model(pooling, cell="lstm", layers=2, bidirectional=bidirectional, dropout=0.1)
    x, lengths = _batch()
    logits = m(x, lengths)
    assert logits.shape == (len(TEXTS), C)
    D = 2 * H if bidirectional else H
    assert m.out_size == D and m.states(x, lengths).shape == (*x.shape, D)
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 1])).backward()
    unused = [n for n, p in m.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)]
    assert not unused, unused  # every weight takes part
    assert m.num_params() == sum(p.numel() for p in m.parameters()) > 0
    assert (m.att_query is not None) == (pooling == "attention")


@pytest.mark.parametrize("cell,pooling,bidirectional", list(itertools.product(CELL_NAMES, POOLINGS, [False, True])))
def test_a_text_alone_gives_the_same_logits_as_in_a_padded_batch(cell: str, pooling: str, bidirectional: bool) -> None:
    torch.manual_seed(len(cell) + 7 * len(pooling))
    m = _model(pooling, cell=cell, layers=2, bidirectional=bidirectional, dropout=0.3).eval()
    with torch.no_grad():
        x, lengths = _batch()
        batched = m(x, lengths)
        assert _max_diff(batched, m(*_batch(seed=1))) <= TOL  # other pad ids: the same
        for i, text in enumerate(TEXTS):
            assert _max_diff(_alone(m, text), batched[i]) <= TOL, (i, text)
        # and the batch's order does not matter (packing sorts by length internally)
        order = torch.tensor([2, 0, 3, 1])
        assert _max_diff(m(x[order], lengths[order]), batched[order]) <= TOL


@pytest.mark.parametrize("cell,pooling,bidirectional",
                         [(c, p, b) for p, b in itertools.product(POOLINGS, [False, True]) for c in ("gru", "peephole-lstm")]
                         + [("lstm", "last", False), ("rnn", "mean", True)])
def test_prefix_probs_is_forward_on_each_prefix(cell: str, pooling: str, bidirectional: bool, monkeypatch) -> None:
    torch.manual_seed(3)
    m = _model(pooling, cell=cell, layers=2, bidirectional=bidirectional, dropout=0.5)  # left in training mode
    text = TEXTS[2]
    # a tiny chunk budget: the prefixes go in several batches
    monkeypatch.setattr("rnn_tui.models.classifier.PREFIX_CHUNK", 3 * len(text) * m.out_size)
    probs = m.prefix_probs(text)
    assert m.training  # the mode it was in comes back
    assert probs.shape == (len(text), C) and probs.dtype == torch.float32
    assert torch.allclose(probs.sum(-1), torch.ones(len(text)))
    m.eval()
    with torch.no_grad():
        for t in range(len(text)):
            assert _max_diff(probs[t], torch.softmax(_alone(m, text[: t + 1]), -1)) <= TOL, t
    assert torch.equal(m.prefix_probs(torch.tensor(text)), probs)  # a tensor works as well as a list
    assert len({tuple(p.tolist()) for p in probs}) > 1  # the decision does move


@pytest.mark.parametrize("bidirectional", [False, True])
def test_attention_weights_sum_to_one_over_real_tokens_and_zero_on_pads(bidirectional: bool) -> None:
    torch.manual_seed(5)
    m = _model("attention", bidirectional=bidirectional).eval()
    x, lengths = _batch()
    with torch.no_grad():
        v, alpha = m.pool(m.states(x, lengths), lengths)
        assert alpha is not None and alpha.shape == x.shape
        real = torch.arange(x.size(1))[None, :] < lengths[:, None]
        assert torch.equal(alpha[~real], torch.zeros(int((~real).sum())))
        assert torch.allclose(alpha.sum(1), torch.ones(len(TEXTS)))
        assert bool((alpha[real] > 0).all())
        # v is the α-weighted sum of the states, and each text's α is the one it gets alone
        assert _max_diff(v, torch.einsum("bt,btd->bd", alpha, m.states(x, lengths))) <= TOL
        for i, text in enumerate(TEXTS):
            w = m.pool_weights(text)
            assert w.shape == (len(text),) and _max_diff(w, alpha[i, : len(text)]) <= TOL
    with pytest.raises(RnnTuiError, match="only attention pooling"):
        _model("mean").pool_weights(TEXTS[0])


def test_pooling_definitions() -> None:
    """Each pooling against its definition, on states written by hand (the pads hold junk)."""
    h = torch.tensor([[[1.0, -2.0], [3.0, 0.5], [99.0, 99.0]],
                      [[-1.0, 4.0], [-5.0, 5.0], [-7.0, 6.0]]])  # (B=2, T=3, D=2)
    lengths = torch.tensor([2, 3])
    pooled = {p: _model(p, hidden=2).pool(h, lengths)[0] for p in ("last", "mean", "max")}
    assert torch.equal(pooled["last"], torch.tensor([[3.0, 0.5], [-7.0, 6.0]]))
    assert torch.allclose(pooled["mean"], torch.tensor([[2.0, -0.75], [-13 / 3, 5.0]]))
    assert torch.equal(pooled["max"], torch.tensor([[3.0, 0.5], [-1.0, 6.0]]))
    # bidirectional last: →h_n from the first half of h_n, ←h_1 from the second half of h_1
    hb = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    last_b = _model("last", hidden=2, bidirectional=True).pool(hb, lengths)[0]
    assert torch.equal(last_b, torch.stack([torch.cat([hb[0, 1, :2], hb[0, 0, 2:]]), torch.cat([hb[1, 2, :2], hb[1, 0, 2:]])]))


def test_one_hot_input() -> None:
    torch.manual_seed(2)
    m = _model("max", embed=0, cell="lstm", bidirectional=True).eval()
    assert m.embed is None and m.rnn.input_size == V
    x, lengths = _batch()
    with torch.no_grad():
        batched = m(x, lengths)
        for i, text in enumerate(TEXTS):
            assert _max_diff(_alone(m, text), batched[i]) <= TOL


def test_token_dropout_zeroes_whole_tokens_while_training_only() -> None:
    torch.manual_seed(3)
    m = _model("max", token_dropout=0.5)
    e = torch.ones(4, 200, E)
    dropped = m._drop_tokens(e)
    kept = dropped.abs().sum(-1) > 0  # (B, T): a token is kept or zeroed whole
    assert torch.equal(dropped[kept], torch.full_like(dropped[kept], 2.0))  # the kept scaled by 1/(1 − p)
    assert 0.4 < 1 - kept.float().mean() < 0.6
    plain = _model("max")
    plain.load_state_dict(m.state_dict())
    x, lengths = _batch()
    with torch.no_grad():
        assert _max_diff(m(x, lengths), plain(x, lengths)) > 0  # training: tokens dropped
        m.eval(), plain.eval()
        assert torch.equal(m._drop_tokens(e), e) and torch.equal(m(x, lengths), plain(x, lengths))


def test_init_and_forget_bias_reach_both_directions() -> None:
    m = _model("last", cell="lstm", layers=2, bidirectional=True, init="orthogonal", forget_bias=1.0)
    for rnn in (m.rnn, m.rnn_b):
        assert rnn is not None
        for k in range(2):
            w = rnn.layer_weights(k)
            assert torch.equal(w["b_ih"][H:2 * H], torch.ones(H)) and torch.equal(w["b_hh"][H:2 * H], torch.zeros(H))
            block = w["w_hh"][:H]
            assert torch.allclose(block @ block.T, torch.eye(H), atol=1e-5)  # orthogonal gate blocks
    assert torch.equal(m.head.bias, torch.zeros(C))  # the head as every Linear under a non-default scheme


def test_user_errors_are_one_clear_line() -> None:
    with pytest.raises(RnnTuiError, match="--pooling must be one of last, mean, max, attention"):
        _model("sum")
    with pytest.raises(RnnTuiError, match="at least 2 classes"):
        Classifier(ModelConfig(hidden=H, embed=E), V, 1, "last")
    with pytest.raises(RnnTuiError, match="tie-weights"):
        Classifier(ModelConfig(hidden=H, embed=H, tie_weights=True), V, C, "last")
    m = _model("mean")
    with pytest.raises(RnnTuiError, match="no tokens"):
        m.prefix_probs([])
    with pytest.raises(RnnTuiError, match="no tokens"):
        m(torch.tensor([[4, 5], [0, 0]]), torch.tensor([2, 0]))


@pytest.mark.parametrize("pooling", POOLINGS)
def test_it_learns_whether_a_token_occurs(pooling: str) -> None:
    """Label = does token 4 occur anywhere in the text: needs the whole text read, not a prefix."""
    g = torch.Generator().manual_seed(0)
    texts = [torch.randint(5, V, (int(torch.randint(3, 12, (1,), generator=g)),), generator=g).tolist()
             for _ in range(64)]
    for i in range(0, 64, 2):  # half of them get a 4 somewhere
        texts[i][int(torch.randint(0, len(texts[i]), (1,), generator=g))] = 4
    y = torch.tensor([int(4 in t) for t in texts])
    x, lengths = _batch(texts)
    torch.manual_seed(0)
    m = _model(pooling, hidden=16, bidirectional=pooling == "last")
    opt = torch.optim.Adam(m.parameters(), lr=0.03)
    for _ in range(80):
        opt.zero_grad()
        F.cross_entropy(m(x, lengths), y).backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        accuracy = float((m(x, lengths).argmax(-1) == y).float().mean())
    assert accuracy >= 0.95, accuracy
