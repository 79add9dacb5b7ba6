"""A trace as one JSON-ready dict: what `rnn-tui inspect --json` prints and the API returns
(language models, translators, classifiers, forecasters).

Built from the same TraceData the Inspect tab shows (trace.py). Per step and layer: ``h``,
``c`` (LSTM), every gate and pre-activation by name, rounded to ``digits`` decimals.
"""

from __future__ import annotations

from typing import Any

from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.equations import CELL_TEXT
from rnn_tui.inspect.trace import ClassificationTrace, ForecastTrace, TraceData, TranslationTrace


def _layer_range(layers: int, layer: int | None) -> range:
    if layer is None:
        return range(layers)
    if not 0 <= layer < layers:
        raise RnnTuiError(f"--layer must be between 0 and {layers - 1}; got {layer}")
    return range(layer, layer + 1)


def _layers(data: TraceData, t: int, layers: range, digits: int) -> list[dict[str, Any]]:
    return [{"layer": k, **{name: [round(v, digits) for v in data.by_time[f"{k}.{name}"][t]] for name in data.vectors}}
            for k in layers]


def _topk(data: TraceData, t: int, digits: int) -> list[dict[str, Any]]:
    return [{"token": token, "prob": round(p, digits)} for token, p in data.topk[t]]


def _model(data: TraceData) -> dict[str, Any]:
    return {"cell": data.cell, "layers": data.layers, "hidden": data.hidden}


def _cell(data: TraceData) -> dict[str, Any]:
    from rnn_tui.models.cells import CELLS

    text = CELL_TEXT[data.cell]
    return {"vectors": list(data.vectors), "gates": list(CELLS[data.cell].gates), "equations": list(text.equations),
            "convention": text.convention}


def lm_to_dict(data: TraceData, layer: int | None = None, digits: int = 5) -> dict[str, Any]:
    """A language model's trace: per step the token read, every vector of every layer (or only
    ``layer``), the top-k next tokens with probabilities and the log-prob of the actual next token."""
    layers = _layer_range(data.layers, layer)
    steps = []
    for t, token in enumerate(data.read):
        step = {"t": t, "token": token, "layers": _layers(data, t, layers, digits), "topk": _topk(data, t, digits)}
        if t + 1 < data.length:
            step["next_token"] = data.read[t + 1]
            step["next_logprob"] = round(data.next_logprob[t], digits)
        steps.append(step)
    return {**_model(data), "tokens": list(data.read), "ids": list(data.ids), **_cell(data), "steps": steps}


def translation_to_dict(trace: TranslationTrace, layer: int | None = None, digits: int = 5) -> dict[str, Any]:
    """A translator's trace: the encoder per source token (forward, and backward in its reading
    order: the sentence reversed), the decoder per step (the token read, the token produced, every
    vector, the top-k, the produced token's log-prob) and the attention (rows: decoder steps,
    columns: source tokens), or None without attention."""
    decoder = trace.parts["decoder"]
    layers = _layer_range(decoder.layers, layer)

    def encoder(name: str) -> list[dict[str, Any]] | None:
        data = trace.parts.get(name)
        if data is None:
            return None
        return [{"t": t, "position": data.positions[t], "token": token, "layers": _layers(data, t, layers, digits)}
                for t, token in enumerate(data.read)]

    forward = trace.parts["encoder →"]
    return {
        "task": "seq2seq", **_model(decoder), **_cell(decoder), "attention_kind": trace.attention_kind,
        "bidirectional": trace.bidirectional,
        "source": trace.source, "source_tokens": list(trace.source_tokens), "source_ids": list(forward.ids),
        "unknown": [forward.tokens[t] for t in sorted(forward.unknown)],
        "target": trace.target, "forced": trace.target is not None,
        "output_tokens": list(trace.outputs), "translation": trace.translation,
        "encoder": {"forward": encoder("encoder →"), "backward": encoder("encoder ←")},
        "decoder": [{"t": t, "input": token, "output": decoder.actual[t], "layers": _layers(decoder, t, layers, digits),
                     "topk": _topk(decoder, t, digits), "logprob": round(decoder.next_logprob[t], digits)}
                    for t, token in enumerate(decoder.read)],
        "attention": None if trace.attention is None else [[round(w, digits) for w in row] for row in trace.attention],
    }


def classification_to_dict(trace: ClassificationTrace, layer: int | None = None, digits: int = 5) -> dict[str, Any]:
    """A classifier's trace: the predicted class and its probabilities, per step the token read,
    the class probabilities after that prefix (classified alone: see ClassificationTrace), the
    predicted class's log-odds and their change at this token, the attention weight (attention
    pooling), every vector of every layer (``backward``: the ← direction's at this position, when
    bidirectional); the tokens that moved the decision most; the attention weights or None."""
    parts = list(trace.parts.values())
    forward, backward = parts[0], parts[1] if len(parts) > 1 else None
    layers = _layer_range(forward.layers, layer)
    reading = {j: k for k, j in enumerate(backward.positions)} if backward is not None else {}

    def step(t: int) -> dict[str, Any]:
        out = {"t": t, "token": forward.read[t], "probs": _probs(trace, t, digits),
               "log_odds": round(trace.log_odds[t], digits), "delta": round(trace.delta[t], digits),
               "layers": _layers(forward, t, layers, digits)}
        if trace.attention is not None:
            out["attention"] = round(trace.attention[t], digits)
        if backward is not None:
            out["backward"] = _layers(backward, reading[t], layers, digits)
        return out

    return {
        "task": "classify", **_model(forward), **_cell(forward), "pooling": trace.pooling,
        "bidirectional": trace.bidirectional, "text": trace.text, "tokens": list(forward.read), "ids": list(forward.ids),
        "unknown": [forward.tokens[t] for t in sorted(forward.unknown)], "classes": list(trace.classes),
        "label": trace.predicted, "probs": _probs(trace, trace.length - 1, digits),
        "steps": [step(t) for t in range(trace.length)],
        "movers": [{"t": t, "token": forward.read[t], "delta": round(trace.delta[t], digits)} for t in trace.movers()],
        "attention": None if trace.attention is None else [round(a, digits) for a in trace.attention],
    }


def _probs(trace: ClassificationTrace, t: int, digits: int) -> dict[str, float]:
    return {name: round(p, digits) for name, p in zip(trace.classes, trace.probs[t])}


def forecast_to_dict(trace: ForecastTrace, layer: int | None = None, digits: int = 5) -> dict[str, Any]:
    """A forecaster's trace over one window: per step the point (0-based), its date (or "point
    N"), the value read in the series' units, the inputs as the model read them (transformed,
    scaled: the target first, then the features), every vector of every layer (or only
    ``layer``); then the forecast from the window's last point (the origin): the points ahead,
    the model's values, the truth where the series has it (fewer near its end), the baselines'."""
    data = trace.parts[""]
    layers = _layer_range(data.layers, layer)
    return {
        "task": "forecast", **_model(data), **_cell(data), "series": trace.series, "features": list(trace.features),
        "origin": {"point": trace.origin, "date": trace.dates[-1]}, "window": trace.length,
        "steps": [{"t": t, "point": p, "date": trace.dates[t], "value": trace.values[t],
                   "inputs": [round(v, digits) for v in trace.inputs[t]], "layers": _layers(data, t, layers, digits)}
                  for t, p in enumerate(trace.points)],
        "forecast": {"ahead": list(trace.ahead), "model": list(trace.forecast), "truth": list(trace.truth),
                     "baselines": {name: list(values) for name, values in trace.baselines.items()}},
    }
