"""Gradients through time (inspect/gradients.py): BPTT written out equals autograd, and the two
lessons hold at initialisation — a tanh RNN's gradient vanishes over 50 steps, and an LSTM's
forget bias of 1 keeps far more of it than a bias of 0."""

import pytest
import torch

from rnn_tui.inspect.gradients import decay, fresh_cell_decay, gradient_norms, tanh_bptt
from rnn_tui.models.recurrent import Recurrent

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_bptt_by_hand_equals_autograd_for_the_tanh_rnn():
    torch.manual_seed(0)
    rnn = Recurrent("rnn", 5, 12).double()
    x = torch.randn(3, 30, 5, dtype=torch.float64)
    u = torch.randn(12, dtype=torch.float64)
    by_autograd, by_hand = gradient_norms(rnn, x, u), tanh_bptt(rnn, x, u)
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
