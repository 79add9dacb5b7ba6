"""Gradients through time: how much of a loss at the last step reaches each earlier state.

For sequences x_1..x_T and a loss read off the last state (here L_T = uᵀ h_T, u a fixed random
unit vector: the readout of a freshly initialised cell),

    g_k = ‖∂L_T/∂h_k‖,   k = 1..T   (h_k: the top layer's state after step k)

and the decay over the distance d = T − k, ratio_d = g_{T−d} / g_T, averaged over the sequences.
The states come from the cell's step functions (models/cells.py on the module's weights), in
float64 so that ratios of 1e-12 are still measured, not rounded to 0.

For a trained language model the loss is its own, L_T = −log p(x_{T+1} | x_1..x_T) (run_gradients);
for the other tasks the model's loss is not read off h_T alone (pooling, attention, a decoder, an
output highway), so it is uᵀh_T on their (forward, encoder) recurrent stack.

By hand (inspect/bptt.py has all the cells), for the tanh RNN h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh),
the backward recurrence is

    δ_T = u,    δ_{k−1} = W_hhᵀ (δ_k ⊙ (1 − h_k²))        (δ_k = ∂L_T/∂h_k)

so each step back multiplies by diag(1 − h_k²) W_hh: when its gains are below 1 the gradient
shrinks geometrically with d — the vanishing gradient that gates were invented against. An
LSTM's cell state is carried by c_t = f_t ⊙ c_{t−1} + …, so its gradient is multiplied by the
forget gate at each step back: a forget bias of 1 (f ≈ σ(1) ≈ 0.73 instead of 0.5) keeps far
more of it over 50 steps.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.bptt import Readout
from rnn_tui.models.cells import CELLS
from rnn_tui.models.init import init_weights
from rnn_tui.models.recurrent import Recurrent

DISTANCES = (1, 2, 5, 10, 20, 50, 100, 200, 500)  # the rows of the text table (log-scale friendly)
UNIT_READOUT = "L_T = uᵀh_T, u a fixed random unit vector"


def gradient_norms(rnn: Recurrent, x: torch.Tensor, readout: Readout) -> torch.Tensor:
    """x (B, T, I), readout u (H,) or h_T (B, H) -> L_T (B,) -> g (B, T): ‖∂L_T/∂h_k‖ for each
    sequence and step k, by autograd."""
    state = rnn.init_state(x.size(0), x.device)
    hs = []
    for x_t in x.unbind(1):
        top, state = rnn.step(x_t, state)
        hs.append(top)
    loss = (hs[-1] @ readout if isinstance(readout, torch.Tensor) else readout(hs[-1])).sum()
    # the sequences do not interact: summing their losses gives each its own gradient
    grads = torch.autograd.grad(loss, hs)
    return torch.stack([g.norm(dim=-1) for g in grads], dim=1)


def decay(norms: torch.Tensor) -> torch.Tensor:
    """g (B, T) -> ratio (T,): the mean over sequences of g_{T−d} / g_T, for d = 0..T−1."""
    return (norms.flip(1) / norms[:, -1:]).mean(0)


def decay_summary(norms: torch.Tensor) -> dict[str, list[float]]:
    """g (B, T) -> per distance d = 0..T−1 over the sequences: the mean ratio g_{T−d}/g_T (as
    ``decay``), its geometric mean and 10th / 50th / 90th percentiles."""
    ratios = norms.flip(1) / norms[:, -1:]  # (B, T), column d
    q = torch.quantile(ratios, torch.tensor([0.1, 0.5, 0.9], dtype=ratios.dtype), dim=0)
    return {"mean": ratios.mean(0).tolist(), "geomean": ratios.log().mean(0).exp().tolist(),
            "p10": q[0].tolist(), "p50": q[1].tolist(), "p90": q[2].tolist()}


def reading(ratio: list[float], geomean: list[float]) -> str:
    """One line saying what the curve shows, at the longest distance measured."""
    d = len(ratio) - 1
    if d < 1:
        return "one step only: nothing to compare"
    per_step = geomean[d] ** (1 / d) if geomean[d] > 0 else 0.0
    verdict = ("vanishes" if ratio[d] < 1e-6 else "fades" if ratio[d] < 0.1 else
               "is kept" if ratio[d] <= 1e2 else "explodes")
    return (f"after {d} steps back the gradient is {ratio[d]:.3g} of its size at T (mean ratio): it {verdict}, "
            f"about ×{per_step:.3g} per step (geometric mean)")


def report(rnn: Recurrent, x: torch.Tensor, readout: Readout, loss: str, source: str) -> dict[str, Any]:
    """The plain data the command prints and a Lab pane draws: per step k the mean ‖∂L_T/∂h_k‖,
    and the decay over d (``decay_summary``), with the rows of the text table and a reading."""
    norms = gradient_norms(rnn, x, readout).detach()
    curve = decay_summary(norms)
    T = x.size(1)
    rows = [d for d in DISTANCES if d < T - 1] + [T - 1]  # and the longest distance measured
    table = [{"d": d, **{name: values[d] for name, values in curve.items()}} for d in rows]
    return {"cell": rnn.cell, "layers": rnn.layers, "hidden": rnn.hidden, "steps": T, "sequences": x.size(0),
            "loss": loss, "source": source, "norms": norms.mean(0).tolist(), "decay": curve, "table": table,
            "reading": reading(curve["mean"], curve["geomean"])}


# -- a freshly initialised cell ----------------------------------------------------------------


def fresh_cell(cell: str, hidden: int = 64, steps: int = 100, init: str = "default", forget_bias: float = 0.0,
               inputs: int = 32, sequences: int = 16, seed: int = 0, layers: int = 1,
               ) -> tuple[Recurrent, torch.Tensor, torch.Tensor]:
    """A freshly initialised cell (float64), random N(0, 1) inputs x (sequences, steps, inputs) and
    a random unit readout u (hidden,), all from ``seed``."""
    if cell not in CELLS:
        raise RnnTuiError(f"unknown cell {cell!r}; use one of {', '.join(CELLS)}")
    for name, value in (("--hidden", hidden), ("--steps", steps), ("--sequences", sequences)):
        if value < 1:
            raise RnnTuiError(f"{name} must be at least 1; got {value}")
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        rnn = Recurrent(cell, inputs, hidden, layers).double()
        init_weights(rnn, init, forget_bias)
    x = torch.randn(sequences, steps, inputs, generator=generator, dtype=torch.float64)
    return rnn, x, unit_vector(hidden, generator)


def unit_vector(size: int, generator: torch.Generator) -> torch.Tensor:
    u = torch.randn(size, generator=generator, dtype=torch.float64)
    return u / u.norm()


def fresh_cell_decay(cell: str, hidden: int = 64, steps: int = 100, init: str = "default", forget_bias: float = 0.0,
                     inputs: int = 32, sequences: int = 16, seed: int = 0) -> torch.Tensor:
    """The decay curve (steps,) of a freshly initialised one-layer cell on random N(0, 1) inputs."""
    rnn, x, u = fresh_cell(cell, hidden, steps, init, forget_bias, inputs, sequences, seed)
    return decay(gradient_norms(rnn, x, u))


# -- a trained run -----------------------------------------------------------------------------

SUPPORTED = ("gradients reads language models (TEXT, --data SPEC or the validation text), classifiers and translation "
             "encoders (TEXT) and forecasters (their validation windows)")


def windows(ids: list[int], steps: int, sequences: int) -> list[list[int]]:
    """Up to ``sequences`` windows of steps + 1 tokens, evenly spaced over ``ids`` (fewer steps
    when the text is shorter)."""
    if len(ids) < 2:
        raise RnnTuiError("the text has fewer than 2 tokens: nothing to take a gradient through")
    n = min(steps + 1, len(ids))
    last = len(ids) - n
    starts = sorted({round(i * last / max(1, sequences - 1)) for i in range(sequences)})
    return [ids[s : s + n] for s in starts]


def run_inputs(loaded: Any, text: str | None, data: str | None, steps: int = 100, sequences: int = 16, seed: int = 0,
               ) -> tuple[Recurrent, torch.Tensor, Readout, str, str]:
    """A loaded run (api.load_any) -> its recurrent stack (a float64 copy), the inputs x (B, T, I),
    the readout (the model's loss, or a unit vector drawn from ``seed``) with what it is, and where
    x came from."""
    rnn, x, readout, loss, source = _run_inputs(loaded, text, data, steps, sequences)
    return rnn, x.detach(), unit_vector(rnn.hidden, torch.Generator().manual_seed(seed)) if readout is None else readout, \
        loss, source


def _run_inputs(loaded: Any, text: str | None, data: str | None, steps: int, sequences: int,
                ) -> tuple[Recurrent, torch.Tensor, Readout | None, str, str]:
    task = loaded.config.task  # a LoadedRun, LoadedTranslator, LoadedClassifier or LoadedForecaster (api.py)
    if steps < 1 or sequences < 1:
        raise RnnTuiError("--steps and --sequences must be at least 1")
    model = copy.deepcopy(loaded.model).double().eval()
    run_id = loaded.run.id
    if task == "forecast":
        if text is not None or data is not None:
            raise RnnTuiError(f"{run_id} is a forecaster: it reads windows of its own series, not TEXT or --data")
        d = loaded.task.data
        origins = d.origins("val") or d.origins("train")
        picked = [origins[round(i * (len(origins) - 1) / max(1, sequences - 1))] for i in range(min(sequences, len(origins)))]
        x = d.windows(sorted(set(picked))).double()[:, -steps:]
        return model.rnn, x, None, UNIT_READOUT, f"{x.size(0)} windows of the validation part"
    if data is not None and task != "lm":
        raise RnnTuiError(f"--data is for language models; give {run_id} a TEXT")
    if task == "lm":
        ids, source = _lm_ids(loaded, text, data)
        rows = torch.tensor(windows(ids, steps, sequences))
        x = model._input(rows[:, :-1])
        target = rows[:, -1]
        head = model.head

        def lm_loss(h: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(head(h), target, reduction="none")

        return (model.rnn, x, lm_loss, "L_T = −log p(x_{T+1} | x_1..x_T), the model's own loss at the last step",
                f"{rows.size(0)} windows of {source}")
    if text is None:
        raise RnnTuiError(f"give {run_id} a TEXT to read ({SUPPORTED})")
    if task == "classify":
        ids, rnn, embed = loaded.encode(text), model.rnn, model._input
    elif task == "seq2seq":
        ids, rnn, embed = loaded.src_vocab.encode(loaded.source_tokens(text)), model.encoder, model.src_embed
    else:
        raise RnnTuiError(SUPPORTED)
    if not ids:
        raise RnnTuiError("the text has no tokens")
    x = embed(torch.tensor([ids[-steps:]]))
    return rnn, x, None, UNIT_READOUT, "the last tokens of TEXT" if len(ids) > steps else "TEXT"


def _lm_ids(loaded: Any, text: str | None, data: str | None) -> tuple[list[int], str]:
    if text is not None and data is not None:
        raise RnnTuiError("give TEXT or --data, not both")
    if text is not None:
        return loaded.encode(text), "TEXT"
    if data is not None:
        from rnn_tui.data.spec import load_text, resolve

        raw = load_text(resolve(data), encoding=loaded.config.data.encoding)
        return loaded.encode(raw.lower() if loaded.config.data.lowercase else raw), data
    from rnn_tui.data.corpus import load_text_corpus

    corpus = load_text_corpus(loaded.config.data, vocab=loaded.vocab)
    part, name = (corpus.val, "the validation text") if corpus.val.numel() > 1 else (corpus.train, "the training text")
    return [int(i) for i in part.tolist()], name
