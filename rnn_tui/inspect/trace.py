"""A model trace as plain data: what `rnn-tui inspect --json` prints and the app displays."""

from __future__ import annotations

from typing import Any


def trace_to_dict(trace, vocab, layer: int | None = None, digits: int = 5) -> dict[str, Any]:
    """Per step and layer: ``h``, ``c`` (LSTM), every gate and pre-activation by name; the
    top-k next tokens with probabilities and the log-prob of the actual next token."""
    from rnn_tui.models.cells import CELLS

    spec = CELLS[trace.cell]
    layers = range(trace.layers) if layer is None else [layer]
    names = [name for name in spec.vectors]
    vectors = {key: _rounded(value.tolist(), digits) for key, value in trace.vectors.items()}
    steps = []
    for t, token_id in enumerate(trace.tokens):
        step = {
            "t": t,
            "token": vocab.itos[token_id],
            "layers": [{"layer": k, **{n: vectors[f"{k}.{n}"][t] for n in names if f"{k}.{n}" in vectors}} for k in layers],
            "topk": [
                {"token": vocab.itos[int(i)], "prob": round(float(p), digits)}
                for i, p in zip(trace.topk_ids[t], trace.topk_probs[t])
            ],
        }
        if t + 1 < len(trace.tokens):
            step["next_token"] = vocab.itos[trace.tokens[t + 1]]
            step["next_logprob"] = round(float(trace.next_logprob[t]), digits)
        steps.append(step)
    return {
        "cell": trace.cell,
        "layers": trace.layers,
        "hidden": trace.hidden,
        "tokens": [vocab.itos[i] for i in trace.tokens],
        "ids": list(trace.tokens),
        "vectors": names,
        "gates": list(spec.gates),
        "equations": list(spec.equations),
        "convention": spec.convention,
        "steps": steps,
    }


def _rounded(rows: list[list[float]], digits: int) -> list[list[float]]:
    return [[round(v, digits) for v in row] for row in rows]
