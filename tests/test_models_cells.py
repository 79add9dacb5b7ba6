"""The step functions in cells.py are the one source of truth for the equations: they must
reproduce the fused PyTorch kernels on the kernels' own weights, and the peephole LSTM (which
has no fused kernel) must match a straightforward independent implementation."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from rnn_tui.inspect.equations import CELL_TEXT, unit_equation
from rnn_tui.models.cells import CELLS, gru_step, lstm_step
from rnn_tui.models.recurrent import Recurrent, run_packed, run_packed_reversed

B, T, I, H = 3, 7, 5, 6  # noqa: E741 — batch, time, input, hidden: the sizes as the equations name them
TOL = 1e-5


def _random_state(rec: Recurrent, batch: int) -> tuple[torch.Tensor, ...]:
    return tuple(torch.randn_like(s) * 0.8 for s in rec.init_state(batch))


def _max_diff(a, b) -> float:
    return float((a - b).detach().abs().max())


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("zero_state", [True, False])
def test_step_and_trace_reproduce_forward(cell: str, layers: int, zero_state: bool) -> None:
    torch.manual_seed(layers * 10 + len(cell))
    rec = Recurrent(cell, I, H, layers, dropout=0.3).eval()  # dropout is off in eval
    x = torch.randn(B, T, I)
    state = None if zero_state else _random_state(rec, B)
    with torch.no_grad():
        out, final = rec(x, state)
        assert out.shape == (B, T, H)
        assert len(final) == (2 if CELLS[cell].has_c else 1)
        assert all(s.shape == (layers, B, H) for s in final)

        # Recurrent.step: one token at a time through all layers
        s = state if state is not None else rec.init_state(B)
        outs = []
        for x_t in x.unbind(1):
            h, s = rec.step(x_t, s)
            outs.append(h)
        assert _max_diff(torch.stack(outs, 1), out) <= TOL
        for a, b in zip(s, final):
            assert _max_diff(a, b) <= TOL

        # Recurrent.trace: every intermediate, one sequence at a time
        for b in range(B):
            st = None if state is None else tuple(t[:, b:b + 1] for t in state)
            parts, fin = rec.trace(x[b], st)
            assert len(parts) == layers and all(len(p) == T for p in parts)
            assert set(parts[0][0]) == set(CELLS[cell].vectors)
            assert all(v.shape == (H,) for v in parts[-1][0].values())
            top = torch.stack([p["h"] for p in parts[-1]])
            assert _max_diff(top, out[b]) <= TOL
            for k in range(layers):  # every layer's last h (and c) is in the fused final state
                assert _max_diff(parts[k][-1]["h"], final[0][k, b]) <= TOL
                if CELLS[cell].has_c:
                    assert _max_diff(parts[k][-1]["c"], final[1][k, b]) <= TOL
            for a, f in zip(fin, final):
                assert _max_diff(a[:, 0], f[:, b]) <= TOL


def test_swapped_gru_convention_would_be_caught() -> None:
    """The textbook form h = (1 − z) ⊙ h_prev + z ⊙ n differs from PyTorch's far beyond TOL."""
    torch.manual_seed(0)
    rec = Recurrent("gru", I, H, 1).eval()
    x = torch.randn(B, T, I)
    w = rec.layer_weights(0)
    with torch.no_grad():
        out, _ = rec(x)
        h, ours, swapped = torch.zeros(B, H), [], []
        hs = torch.zeros(B, H)
        for x_t in x.unbind(1):
            gx = F.linear(x_t, w["w_ih"], w["b_ih"])
            (h,), _ = gru_step(gx, (h,), w["w_hh"], w["b_hh"])
            ours.append(h)
            _, p = gru_step(gx, (hs,), w["w_hh"], w["b_hh"])
            hs = (1 - p["z"]) * hs + p["z"] * p["n"]  # the swapped convention
            swapped.append(hs)
    assert _max_diff(torch.stack(ours, 1), out) <= TOL
    assert _max_diff(torch.stack(swapped, 1), out) > 1000 * TOL


def test_lstm_gate_order_matters() -> None:
    """Reading the rows as i, g, f, o (another layout) would be caught too."""
    torch.manual_seed(1)
    rec = Recurrent("lstm", I, H, 1).eval()
    x = torch.randn(B, T, I)
    w = rec.layer_weights(0)
    perm = torch.cat([torch.arange(0, H), torch.arange(2 * H, 3 * H), torch.arange(H, 2 * H), torch.arange(3 * H, 4 * H)])
    with torch.no_grad():
        out, _ = rec(x)
        s = (torch.zeros(B, H), torch.zeros(B, H))
        for x_t in x.unbind(1):
            s, _ = lstm_step(F.linear(x_t, w["w_ih"][perm], w["b_ih"][perm]), s, w["w_hh"][perm], w["b_hh"][perm])
    assert _max_diff(s[0], out[:, -1]) > 1000 * TOL


# -- the peephole LSTM: no fused kernel, so an independent reference ----------------------------


def _reference_peephole(rec: Recurrent, x: torch.Tensor, state) -> tuple[torch.Tensor, tuple]:
    """Written out gate by gate with explicit per-gate matrices and x[:, t]: slow but plain."""
    h0, c0 = state
    hs, cs = [], []
    for k in range(rec.layers):
        w = rec.layer_weights(k)
        W_i, W_f, W_g, W_o = w["w_ih"].split(H)
        U_i, U_f, U_g, U_o = w["w_hh"].split(H)
        b = w["b_ih"] + w["b_hh"]
        b_i, b_f, b_g, b_o = b.split(H)
        p_i, p_f, p_o = w["w_peep"]
        h, c, outs = h0[k], c0[k], []
        for t in range(x.size(1)):
            xt = x[:, t]
            i = torch.sigmoid(xt @ W_i.T + h @ U_i.T + b_i + p_i * c)
            f = torch.sigmoid(xt @ W_f.T + h @ U_f.T + b_f + p_f * c)
            g = torch.tanh(xt @ W_g.T + h @ U_g.T + b_g)
            c = f * c + i * g
            o = torch.sigmoid(xt @ W_o.T + h @ U_o.T + b_o + p_o * c)
            h = o * torch.tanh(c)
            outs.append(h)
        x = torch.stack(outs, 1)
        hs.append(h)
        cs.append(c)
    return x, (torch.stack(hs), torch.stack(cs))


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_peephole_matches_reference_and_trains(layers: int) -> None:
    torch.manual_seed(layers)
    rec = Recurrent("peephole-lstm", I, H, layers)
    with torch.no_grad():  # make the peepholes matter
        for k in range(layers):
            rec.layer_weights(k)["w_peep"].uniform_(-1, 1)
    x = torch.randn(B, T, I)
    state = _random_state(rec, B)
    names = [n for n, _ in rec.named_parameters()]
    assert f"core.weight_peep_l{layers - 1}" in names and "core.weight_ih_l0" in names

    out, (h, c) = rec(x, state)
    ref, (rh, rc) = _reference_peephole(rec, x, state)
    assert _max_diff(out, ref) <= TOL and _max_diff(h, rh) <= TOL and _max_diff(c, rc) <= TOL

    # gradients flow to every parameter and equal the reference's
    loss = (out ** 2).sum() + c.sum()
    grads = torch.autograd.grad(loss, list(rec.parameters()))
    ref_loss = (ref ** 2).sum() + rc.sum()
    ref_grads = torch.autograd.grad(ref_loss, list(rec.parameters()))
    for name, g, rg in zip(names, grads, ref_grads):
        assert float(g.abs().sum()) > 0, name
        assert _max_diff(g, rg) <= 1e-4, name

    # dropout between layers only in training mode; the whole thing backpropagates
    rec.core.dropout = 0.5
    rec.train()
    out_train, _ = rec(x, state)
    out_train.sum().backward()
    assert rec.core.weight_peep_l0.grad is not None



@pytest.mark.parametrize("cell", list(CELLS))
def test_packed_batches_stop_each_sequence_at_its_length(cell: str) -> None:
    """run_packed (every cell, the peephole LSTM's loop too): each sequence's outputs and final
    state are the ones it gets alone, and run_packed_reversed is the same read back to front."""
    torch.manual_seed(9)
    rec = Recurrent(cell, I, H, 2).eval()
    if cell == "peephole-lstm":
        with torch.no_grad():
            for k in range(2):
                rec.layer_weights(k)["w_peep"].uniform_(-1, 1)
    lengths = torch.tensor([4, T, 1])
    x = torch.randn(B, T, I) * (torch.arange(T)[None, :, None] < lengths[:, None, None])  # 0 on pads
    x = x + 5 * (torch.arange(T)[None, :, None] >= lengths[:, None, None])  # junk on pads
    with torch.no_grad():
        out, state = run_packed(rec, x, lengths)
        out_r, state_r = run_packed_reversed(rec, x, lengths)
        for b, n in enumerate(lengths.tolist()):
            alone, final = rec(x[b: b + 1, :n])
            alone_r, final_r = rec(x[b: b + 1, :n].flip(1))
            assert _max_diff(out[b, :n], alone[0]) <= TOL and float(out[b, n:].abs().sum()) == 0
            assert _max_diff(out_r[b, :n], alone_r[0].flip(0)) <= TOL and float(out_r[b, n:].abs().sum()) == 0
            for s, f, sr, fr in zip(state, final, state_r, final_r):
                assert _max_diff(s[:, b], f[:, 0]) <= TOL and _max_diff(sr[:, b], fr[:, 0]) <= TOL


def test_cell_specs_match_step_outputs() -> None:
    assert list(CELL_TEXT) == list(CELLS)  # every cell is written down, in the same order
    for name, spec in CELLS.items():
        torch.manual_seed(5)
        rec = Recurrent(name, I, H, 1)
        with torch.no_grad():
            for p in rec.parameters():
                p.mul_(4)  # big weights: saturated gates, negative values wherever they can occur
            parts, _ = rec.trace(torch.randn(40, I) * 3)
        assert set(parts[0][0]) == set(spec.vectors) and len(spec.vectors) == len(set(spec.vectors))
        assert spec.vectors[0] == "h" and CELL_TEXT[name].equations and CELL_TEXT[name].convention
        assert rec.layer_weights(0)["w_ih"].shape == (spec.chunks * H, I)
        # the σ vectors are in [0, 1] (a sequential colour scale); every other one goes negative
        # (a diverging scale), except relu's h
        for vector in spec.vectors:
            values = torch.stack([p[vector] for p in parts[0]])
            if vector in spec.sigmoid:
                assert float(values.min()) >= 0 and float(values.max()) <= 1, (name, vector)
            elif not (name == "rnn-relu" and vector == "h"):
                assert float(values.min()) < 0, (name, vector)
    assert "(1 − z) ⊙ n + z ⊙ h_{t-1}" in " ".join(CELL_TEXT["gru"].equations)
    assert "c_t = f ⊙ c_{t-1} + i ⊙ g" in CELL_TEXT["lstm"].equations


# -- unit equations (inspect/equations.py): the numbers on screen are the step functions' numbers ---


def _at(p: dict[str, torch.Tensor], state, u: int, b: int = 0) -> tuple[dict[str, float], tuple[float, ...]]:
    """One unit's floats out of a step's (B, H) parts and its state before: what unit_equation takes."""
    return {k: float(t[b, u]) for k, t in p.items()}, tuple(float(s[b, u]) for s in state)

NUM = re.compile(r"[−-]?\d+\.\d+")


def _numbers(line: str) -> list[float]:
    return [float(s.replace("−", "-")) for s in NUM.findall(line)]


def _check(lines: list[str], expected: list[list[float]]) -> None:
    assert len(lines) == len(expected)
    for line, want in zip(lines, expected):
        got = _numbers(line)
        assert len(got) == len(want), line
        for g, w in zip(got, want):
            assert abs(g - w) <= 0.005 + 1e-6, (line, g, w)


@pytest.mark.parametrize("cell", ["lstm", "peephole-lstm"])
def test_unit_equation_lstm(cell: str) -> None:
    torch.manual_seed(3)
    rec = Recurrent(cell, I, H, 1)
    if cell == "peephole-lstm":
        with torch.no_grad():
            rec.core.weight_peep_l0.uniform_(-1, 1)
    state = tuple(s[0] for s in _random_state(rec, B))
    w = rec.layer_weights(0)
    extra = (w["w_peep"],) if "w_peep" in w else ()
    with torch.no_grad():
        _, p = CELLS[cell].step(F.linear(torch.randn(B, I), w["w_ih"], w["b_ih"]), state, w["w_hh"], w["b_hh"], *extra)
    u, b = 4, 2
    v = {k: float(t[b, u]) for k, t in p.items()}
    c_prev = float(state[1][b, u])
    lines = unit_equation(cell, *_at(p, state, u, b))
    expected = [
        [v["pre_i"], v["i"]], [v["pre_f"], v["f"]], [v["pre_g"], v["g"]],
        [v["f"], c_prev, v["i"], v["g"], v["c"]],
        [v["pre_o"], v["o"]], [v["o"], v["c"], v["o"], v["tanh_c"], v["h"]],
    ]
    if cell == "peephole-lstm":
        expected = [
            [v["pre_i"] - v["peep_i"], v["peep_i"], v["pre_i"]], [v["pre_f"] - v["peep_f"], v["peep_f"], v["pre_f"]],
            *expected[:4], [v["pre_o"] - v["peep_o"], v["peep_o"], v["pre_o"]], *expected[4:],
        ]
    _check(lines, expected)
    c_line = next(line for line in lines if line.startswith("c = "))
    f_, cp, i_, g_, c_ = _numbers(c_line)
    assert abs(f_ * cp + i_ * g_ - c_) < 0.02  # the shown numbers add up
    # negative operands in parentheses, real minus signs
    if v["g"] < 0:
        assert f"·({_fmt(v['g'])})" in c_line
    assert "-" not in "".join(lines).replace("h_{t-1}", "")


def _fmt(x: float) -> str:
    return f"{x:.2f}".replace("-", "−")


def test_unit_equation_gru() -> None:
    torch.manual_seed(4)
    rec = Recurrent("gru", I, H, 1)
    state = (torch.randn(B, H),)
    w = rec.layer_weights(0)
    with torch.no_grad():
        _, p = gru_step(F.linear(torch.randn(B, I), w["w_ih"], w["b_ih"]), state, w["w_hh"], w["b_hh"])
    for u in range(H):
        v = {k: float(t[0, u]) for k, t in p.items()}
        h_prev = float(state[0][0, u])
        lines = unit_equation("gru", *_at(p, state, u))
        _check(lines, [
            [v["pre_r"], v["r"]], [v["pre_z"], v["z"]], [v["hn"], h_prev],
            [v["pre_n"] - v["r"] * v["hn"], v["r"], v["hn"], v["pre_n"], v["n"]],
            [v["z"], v["n"], v["z"], h_prev, v["h"]],
        ])
        *_, z, n, z2, hp, h = _numbers(lines[-1])
        assert abs((1 - z) * n + z2 * hp - h) < 0.02


@pytest.mark.parametrize("cell", ["rnn", "rnn-relu"])
def test_unit_equation_rnn(cell: str) -> None:
    torch.manual_seed(6)
    rec = Recurrent(cell, I, H, 1)
    with torch.no_grad():
        parts, _ = rec.trace(torch.randn(3, I))
    p = {k: float(v[2]) for k, v in parts[0][1].items()}  # step 1, unit 2
    h_prev = float(parts[0][0]["h"][2])  # what step 0 left
    lines = unit_equation(cell, p, (h_prev,))
    fn = "tanh" if cell == "rnn" else "relu"
    assert lines[1].startswith(f"h = {fn}(pre) = {fn}(")
    _check(lines, [[p["pre"], h_prev], [p["pre"], p["h"]]])


def test_unit_equation_text() -> None:
    """The exact text (the Inspect tab's equation panel and its two-row layout rely on it)."""
    p = {"i": 0.12, "f": 0.93, "g": -0.55, "o": 0.5, "c": 0.3153, "tanh_c": 0.3053, "h": 0.15265,
         "pre_i": -1.99, "pre_f": 2.59, "pre_g": -0.62, "pre_o": 0.0}
    lines = unit_equation("lstm", p, (0.2, 0.41))
    assert lines[3] == "c = f·c_prev + i·g = 0.93·0.41 + 0.12·(−0.55) = 0.32"
    assert lines[0] == "i = σ(pre_i) = σ(−1.99) = 0.12"
    assert unit_equation("rnn", {"pre": -0.004, "h": -0.004}, (-0.1,)) == [
        "pre = W_ih x + b_ih + W_hh h_prev + b_hh = 0.00   (h_prev = −0.10)", "h = tanh(pre) = tanh(0.00) = 0.00"]
    with pytest.raises(ValueError, match="unknown cell"):
        unit_equation("transformer", {}, (0.0,))
