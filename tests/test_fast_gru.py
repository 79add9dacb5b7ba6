"""FastGRU (models/fast_gru.py) must give nn.GRU's numbers on nn.GRU's weights: outputs, final
state and every gradient, for the sizes and shapes the project trains with; and the project's GRU
must train (and so be inspected) exactly as it would on nn.GRU."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_tui.config import ModelConfig
from rnn_tui.models import loop_products
from rnn_tui.models.fast_gru import FastGRU, gru_layer
from rnn_tui.models.lm import LanguageModel
from rnn_tui.models.recurrent import Recurrent

I, H = 5, 8  # noqa: E741


def _pair(layers: int, bidirectional: bool, dtype: torch.dtype, hidden: int = H, **kwargs) -> tuple[nn.GRU, FastGRU]:
    ref = nn.GRU(I, hidden, layers, batch_first=True, bidirectional=bidirectional, **kwargs).to(dtype)
    fast = FastGRU(I, hidden, layers, batch_first=True, bidirectional=bidirectional, **kwargs).to(dtype)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def _run(m: nn.GRU, x: torch.Tensor, h0: torch.Tensor | None, seed: int) -> list[torch.Tensor]:
    """Outputs, final state, and the gradients of a random linear function of both with respect
    to x, h0 and every parameter."""
    out, h = m(x, h0)
    gen = torch.Generator().manual_seed(seed)
    loss = (out * torch.randn(out.shape, generator=gen, dtype=out.dtype)).sum() \
        + (h * torch.randn(h.shape, generator=gen, dtype=h.dtype)).sum()
    wrt = [x, *([h0] if h0 is not None else []), *m.parameters()]
    return [out, h, *torch.autograd.grad(loss, wrt)]


def _assert_close(got: list[torch.Tensor], want: list[torch.Tensor], tol: float) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        g, w = g.detach(), w.detach()
        scale = max(1.0, float(w.abs().max()))  # a gradient summed over T × B terms: relative to its size
        assert float((g - w).abs().max()) <= tol * scale


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("T", [1, 100])
@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
def test_equals_nn_gru(layers: int, bidirectional: bool, batch: int, T: int, dtype: torch.dtype) -> None:
    torch.manual_seed(layers + 2 * bidirectional + batch + T)
    ref, fast = _pair(layers, bidirectional, dtype)
    x = torch.randn(batch, T, I, dtype=dtype, requires_grad=True)
    h0 = torch.randn(layers * (2 if bidirectional else 1), batch, H, dtype=dtype, requires_grad=True)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    for state in (h0, None):  # a carried state in, and the zero state
        _assert_close(_run(fast, x, state, seed=T), _run(ref, x, state, seed=T), tol)


def test_time_major_and_no_grad_paths_agree() -> None:
    torch.manual_seed(1)
    ref = nn.GRU(I, H, 2)
    fast = FastGRU(I, H, 2)
    fast.load_state_dict(ref.state_dict())
    x = torch.randn(9, 4, I, requires_grad=True)  # (T, B, I): batch_first off
    _assert_close(_run(fast, x, None, seed=0), _run(ref, x, None, seed=0), 1e-5)
    with torch.no_grad():  # evaluation: nn.GRU's own kernel
        _assert_close(list(fast(x)), list(ref(x)), 0.0)


def test_gradients_are_never_the_reused_workspace() -> None:
    """The backward keeps its temporaries in one buffer between calls: what it returns must not
    live there, or the next backward (another batch, another size) would overwrite it."""
    torch.manual_seed(3)
    ref, fast = _pair(2, False, torch.float32)
    x1, x2 = torch.randn(4, 30, I, requires_grad=True), torch.randn(4, 30, I, requires_grad=True)
    first = _run(fast, x1, None, seed=1)
    kept = [g.clone() for g in first]
    _run(fast, x2, None, seed=2)
    _run(fast, torch.randn(6, 50, I, requires_grad=True), None, seed=3)  # a larger one: the buffer grows
    _assert_close(first, kept, 0.0)
    _assert_close(first, _run(ref, x1, None, seed=1), 1e-5)


def test_backward_in_two_threads_at_once() -> None:
    import threading

    torch.manual_seed(4)
    ref, fast = _pair(1, False, torch.float32)
    inputs = [torch.randn(8, 200, I, requires_grad=True) for _ in range(2)]
    got: dict[int, list[torch.Tensor]] = {}

    def work(k: int) -> None:
        for _ in range(3):
            got[k] = _run(fast, inputs[k], None, seed=k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        _assert_close(got[k], _run(ref, inputs[k], None, seed=k), 1e-5)


def test_gradcheck_float64() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)  # (T, B, I)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    w = [(torch.randn(*shape, dtype=torch.float64) * 0.5).requires_grad_() for shape in ((9, 3), (9, 3), (9,), (9,))]
    assert torch.autograd.gradcheck(gru_layer, (x, h0, *w))


def test_dropout_between_layers_only_in_training() -> None:
    torch.manual_seed(2)
    ref, fast = _pair(2, False, torch.float32, dropout=0.5)
    x = torch.randn(3, 6, I)
    out_train, _ = fast.train()(x)  # gradients on: the fast path
    out_eval, _ = fast.eval()(x)
    assert float((out_train - out_eval).detach().abs().max()) > 1e-3  # dropped units change the top layer
    ref.eval()  # and in eval mode no dropout: nn.GRU's numbers
    _assert_close(_run(fast, x.requires_grad_(), None, seed=1), _run(ref, x, None, seed=1), 1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])  # (bidirectional + packed: nn.GRU's kernel)
@pytest.mark.parametrize("layers", [1, 2])
def test_packed_batch_equals_nn_gru(layers: int, bidirectional: bool, hidden: int = H) -> None:
    """A padded batch of varying lengths, packed: each sequence stops at its own length."""
    torch.manual_seed(3 + layers)
    ref, fast = _pair(layers, bidirectional, torch.float32, hidden)
    x = torch.randn(5, 30, I, requires_grad=True)
    h0 = torch.randn(layers * (2 if bidirectional else 1), 5, hidden, requires_grad=True)
    lengths = torch.tensor([30, 3, 17, 1, 30])

    def run(m: nn.GRU, state: torch.Tensor | None) -> list[torch.Tensor]:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = m(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        gen = torch.Generator().manual_seed(0)
        loss = (out * torch.randn(out.shape, generator=gen)).sum() + (h * torch.randn(h.shape, generator=gen)).sum()
        wrt = [x, *([state] if state is not None else []), *m.parameters()]
        return [out, h, *torch.autograd.grad(loss, wrt)]

    for state in (h0, None):
        _assert_close(run(fast, state), run(ref, state), 1e-5)


def test_at_256_units_the_steps_take_onednns_packed_weights_and_give_the_same_numbers() -> None:
    """From 3H × H ≥ 2¹⁶ weights the per-step products run through oneDNN's linear on a weight
    packed once per call (where this torch has oneDNN): nn.GRU's numbers still, whole and packed."""
    hidden = 256
    assert torch.backends.mkldnn.is_available() == loop_products.ONEDNN
    uses = loop_products.StepProduct(torch.zeros(3 * hidden, hidden), 32).packed is not None
    assert uses == loop_products.ONEDNN and not loop_products.StepProduct(torch.zeros(3 * H, H), 32).packed
    assert not loop_products.StepProduct(torch.zeros(3 * hidden, hidden), 1).packed  # one row: MKL's gemv
    torch.manual_seed(6)
    ref, fast = _pair(2, True, torch.float32, hidden)
    x = torch.randn(32, 50, I, requires_grad=True)
    h0 = torch.randn(4, 32, hidden, requires_grad=True)
    _assert_close(_run(fast, x, h0, seed=6), _run(ref, x, h0, seed=6), 1e-5)
    test_packed_batch_equals_nn_gru(1, False, hidden)
    with torch.no_grad():  # evaluation, scoring: packed products beat nn.GRU's kernel there too
        assert fast._fast(x) == uses and not _pair(1, False, torch.float32)[1]._fast(x[..., :I]) and not fast._fast(x[:1])
        _assert_close(list(fast(x, h0)), list(ref(x, h0)), 1e-5)
        ref, fast = _pair(1, False, torch.float32, hidden)  # a packed batch: one direction
        packed = pack_padded_sequence(x, torch.tensor([50 - k for k in range(32)]), batch_first=True,
                                      enforce_sorted=False)
        assert fast._fast(packed) == uses
        (out, h), (ref_out, ref_h) = fast(packed, h0[:1]), ref(packed, h0[:1])
        _assert_close([out.data, h], [ref_out.data, ref_h], 1e-5)


def test_recurrent_gru_trains_on_fast_gru() -> None:
    rec = Recurrent("gru", I, H, 2)
    assert isinstance(rec.core, FastGRU)
    assert list(rec.core.state_dict()) == list(nn.GRU(I, H, 2).state_dict())  # checkpoints unchanged


def test_tiny_lm_trains_as_with_nn_gru() -> None:
    """The same losses, step by step, as the model with nn.GRU's kernel in its place."""
    torch.manual_seed(4)
    cfg = ModelConfig()
    cfg.cell, cfg.embed, cfg.hidden, cfg.layers, cfg.dropout = "gru", 8, 16, 2, 0.0
    models = [LanguageModel(cfg, 11) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    plain = nn.GRU(8, 16, 2, batch_first=True)
    plain.load_state_dict(models[1].rnn.core.state_dict())
    models[1].rnn.core = plain
    data = torch.randint(11, (6, 4, 21))
    losses = []
    for model in models:
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        trajectory = []
        for batch in data:
            logits, _ = model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, 11), batch[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            trajectory.append(loss.item())
        losses.append(trajectory)
    assert losses[0][-1] < losses[0][0]  # it learns
    assert max(abs(a - b) for a, b in zip(*losses)) < 1e-5


def test_cpu_autocast_runs_nn_gru() -> None:
    """Under autocast (--precision bf16 on the cpu) the module is nn.GRU, dtypes and all."""
    torch.manual_seed(5)
    ref, fast = _pair(2, False, torch.float32)
    x = torch.randn(3, 7, I, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = _run(fast, x, None, seed=2), _run(ref, x, None, seed=2)
    assert [t.dtype for t in got] == [t.dtype for t in want]
    _assert_close(got, want, 0.0)
