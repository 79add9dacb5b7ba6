"""Gradients through time (inspect/gradients.py): BPTT written out equals autograd, and the two
lessons hold at initialisation — a tanh RNN's gradient vanishes over 50 steps, and an LSTM's
forget bias of 1 keeps far more of it than a bias of 0."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.bptt import backward_steps, bptt_account, bptt_norms, equations
from rnn_tui.inspect.gradients import decay, decay_summary, fresh_cell, fresh_cell_decay, gradient_norms, reading, windows
from rnn_tui.models.recurrent import Recurrent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_bptt_by_hand_equals_autograd_for_the_tanh_rnn():
    torch.manual_seed(0)
    rnn = Recurrent("rnn", 5, 12).double()
    x = torch.randn(3, 30, 5, dtype=torch.float64)
    u = torch.randn(12, dtype=torch.float64)
    by_autograd, by_hand = gradient_norms(rnn, x, u), bptt_norms(rnn, x, u)
    assert by_autograd.shape == (3, 30)
    assert torch.allclose(by_hand, by_autograd, rtol=1e-5, atol=0)
    assert torch.allclose(by_autograd[:, -1], u.norm().expand(3))  # ∂(uᵀh_T)/∂h_T = u
    assert decay(by_autograd)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("cell", ["gru", "lstm", "peephole-lstm"])
def test_the_step_functions_pass_the_gradient_the_fused_kernel_does(cell):
    """The step functions (what Inspect shows) give the same gradient as the fused module."""
    torch.manual_seed(1)
    rnn = Recurrent(cell, 4, 8, layers=2).double()
    x = torch.randn(2, 12, 4, dtype=torch.float64)
    u = torch.randn(8, dtype=torch.float64)
    norms = gradient_norms(rnn, x, u)
    fused_x = x.clone().requires_grad_(True)
    out, _ = rnn(fused_x)  # the fused kernel: ∂L/∂x through it must match the step functions' chain
    (out[:, -1] @ u).sum().backward()
    stepped_x = x.clone().requires_grad_(True)
    state = rnn.init_state(2)
    for x_t in stepped_x.unbind(1):
        top, state = rnn.step(x_t, state)
    (top @ u).sum().backward()
    assert torch.allclose(fused_x.grad, stepped_x.grad, rtol=1e-8, atol=1e-12)
    assert bool((norms > 0).all()) and norms.shape == (2, 12)


def test_at_initialisation_a_tanh_rnn_forgets_in_50_steps_and_a_forget_bias_of_1_keeps_the_lstm_remembering():
    rnn = fresh_cell_decay("rnn", hidden=64, steps=51)
    assert rnn[50] < 1e-8
    lstm_0 = fresh_cell_decay("lstm", hidden=64, steps=51, forget_bias=0.0)
    lstm_1 = fresh_cell_decay("lstm", hidden=64, steps=51, forget_bias=1.0)
    assert lstm_1[50] >= 1000 * lstm_0[50]
    assert bool((rnn[1:] < rnn[:-1]).all())  # it only shrinks with the distance


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", ["rnn", "rnn-relu", "gru", "lstm"])
def test_bptt_by_hand_equals_autograd(cell, layers):
    """The backward recurrence written out (inspect/bptt.py) gives autograd's ‖∂L_T/∂h_k‖ at every
    step, for the top layer of a stack too; biases made non-zero so every term of the equations counts."""
    torch.manual_seed(2)
    rnn = Recurrent(cell, 5, 9, layers=layers).double()
    with torch.no_grad():
        for p in rnn.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(3, 25, 5, dtype=torch.float64)
    u = torch.randn(9, dtype=torch.float64)
    by_autograd, by_hand = gradient_norms(rnn, x, u), bptt_norms(rnn, x, u)
    assert by_hand.shape == (3, 25)
    assert torch.allclose(by_hand, by_autograd, rtol=1e-5, atol=0)
    assert not torch.allclose(by_autograd[:, 0], by_autograd[:, -1], rtol=0.1)  # something to get right


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_bptt_by_hand_gives_the_full_vectors_with_a_loss_read_through_a_head(cell):
    """Not only the norms: δ_k itself equals autograd's gradient, with a cross-entropy readout
    (whose seed δ_T comes from autograd through the head alone)."""
    torch.manual_seed(3)
    rnn = Recurrent(cell, 4, 6, layers=2).double()
    head = torch.nn.Linear(6, 7).double()
    x = torch.randn(2, 15, 4, dtype=torch.float64)
    target = torch.tensor([1, 5])

    def loss(h):
        return F.cross_entropy(head(h), target, reduction="none")

    state, hs = rnn.init_state(2), []
    for x_t in x.unbind(1):
        top, state = rnn.step(x_t, state)
        hs.append(top)
    grads = torch.autograd.grad(loss(hs[-1]).sum(), hs)
    steps = backward_steps(rnn, x, loss)
    for k in range(15):
        assert torch.allclose(steps[k]["delta"], grads[k], rtol=1e-5, atol=1e-12)


def test_the_account_says_why_the_gradient_shrinks_or_is_kept():
    rnn, x, u = fresh_cell("rnn", hidden=32, steps=12, sequences=2)
    account = bptt_account(rnn, x, u)
    rows = account["rows"]
    assert [r["k"] for r in rows] == list(range(12, 0, -1)) and rows[0]["step"] is None
    assert rows[0]["ratio"] == pytest.approx(1.0)
    assert all(r["gain"] < 1 for r in rows)  # the gain of diag(1 − h²) W_hh bounds each step back
    assert all(r["step"] <= r_prev["gain"] + 1e-12 for r_prev, r in itertools.pairwise(rows))
    assert any("W_hhᵀ" in line for line in account["equations"])
    lstm_0 = bptt_account(*fresh_cell("lstm", hidden=32, steps=12, sequences=2, forget_bias=0.0))
    lstm_1 = bptt_account(*fresh_cell("lstm", hidden=32, steps=12, sequences=2, forget_bias=1.0))
    assert lstm_1["rows"][5]["forget"] > lstm_0["rows"][5]["forget"] + 0.15  # σ(1) ≈ 0.73 vs σ(0) = 0.5
    assert lstm_1["rows"][-1]["ratio"] > lstm_0["rows"][-1]["ratio"]
    gru = bptt_account(*fresh_cell("gru", hidden=32, steps=12, sequences=2))
    assert 0 < gru["rows"][3]["keep"] < 1 and "direct" in gru["factors"]


def test_bptt_by_hand_refuses_a_cell_it_does_not_write_out():
    with pytest.raises(RnnTuiError, match="not for 'peephole-lstm'"):
        equations("peephole-lstm")


def test_the_decay_summary_and_its_reading():
    norms = torch.tensor([[1e-9, 1e-3, 1.0], [1e-7, 1e-2, 2.0]], dtype=torch.float64)
    curve = decay_summary(norms)
    assert curve["mean"][2] == pytest.approx((1e-9 + 0.5e-7) / 2)
    assert curve["geomean"][2] == pytest.approx((1e-9 * 0.5e-7) ** 0.5)
    assert curve["p10"][2] <= curve["p50"][2] <= curve["p90"][2]
    assert "vanishes" in reading(curve["mean"], curve["geomean"])
    assert "is kept" in reading([1.0, 0.9], [1.0, 0.9])


def test_windows_are_evenly_spaced_and_shrink_to_a_short_text():
    assert windows(list(range(10)), steps=3, sequences=3) == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert windows([4, 5, 6], steps=50, sequences=4) == [[4, 5, 6]]
    with pytest.raises(RnnTuiError, match="fewer than 2 tokens"):
        windows([1], steps=5, sequences=1)
