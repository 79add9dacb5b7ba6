"""A model trace as plain data: what the Inspect tab shows and `rnn-tui inspect` prints.

A language model gives one TraceData; a translator gives one per part: the encoder → , the
encoder ← (when bidirectional, in its own reading order: the sentence reversed) and the
decoder; a classifier one per direction (forward →, and backward ← in its reading order when
bidirectional), with how its decision moved as each token was read (ClassificationTrace); a
forecaster one over the steps of a window of its series, with the forecast made from its
last point (ForecastTrace): its "tokens" are the values read, one per step.
Each holds, per (layer, vector), the (T, H) rows by time and the (H, T) rows by unit as Python
lists, the colour range of each vector, the state before the first step, the next-token top-k,
and what to say where a part predicts nothing. Built once from a model's trace (tensors
in, lists out; this module never imports torch itself); everything after that is list lookups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnn_tui.display import visible_token
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.equations import unit_equation

TOPK = 5
SEQ2SEQ_SEPARATOR = " => "
"""In the text of a translation run: ``source => target`` forces the target (else greedy)."""
LOG_ODDS_FLOOR = 1e-30
"""log_odds: the least probability either side counts as (a class the model is sure of stays finite)."""
MAX_CLASSES_SHOWN = 5
"""A classifier step's note lists the likeliest classes after that prefix, this many at most (the predicted one always)."""
DEFAULT_RANGES = {"diverging": (-1.0, 1.0), "sequential": (0.0, 1.0)}
"""A kind's natural colour range, widened to hold the data: σ gates in [0, 1], the rest around 0."""


@dataclass
class TraceData:
    """One part of a trace as plain lists (built in a worker; afterwards only the variance
    cache of units.py changes)."""

    cell: str
    layers: int
    hidden: int
    vectors: tuple[str, ...]  # the cell's vectors, display order (h first)
    kinds: dict[str, str]  # vector -> "sequential" (a σ gate, in [0, 1]) or "diverging"
    tokens: list[str]  # the input tokens as typed, length T
    by_time: dict[str, list[list[float]]]  # "0.h" -> T rows of H values
    by_unit: dict[str, list[list[float]]]  # "0.h" -> H rows of T values
    ranges: dict[str, tuple[float, float]]  # vector name -> colour range over all layers
    state_before: list[list[list[float]]]  # per layer, the state before t = 0: [h] or [h, c]
    topk: list[list[tuple[str, float]]]  # per t: (next token, probability), best first; [] = no prediction
    next_logprob: list[float]  # per t: log-prob of the actual next token (as long as `actual`)
    variance: dict[str, list[float]] = field(default_factory=dict)  # key -> per-unit variance (units.py fills it)
    unknown: set[int] = field(default_factory=set)  # positions whose typed token is not in the vocabulary (read as <unk>)
    actual: list[str] = field(default_factory=list)  # per t: the token that came next (LM: tokens[t + 1])
    part: str = ""  # "" for a language model; "encoder →", "encoder ←", "decoder" for a translator
    notes: list[str] = field(default_factory=list)  # per t, shown instead of a top-k where there is none
    ids: list[int] = field(default_factory=list)  # the ids the model read, length T
    read: list[str] = field(default_factory=list)  # the tokens as the model read them (<unk> where unknown)
    positions: list[int] = field(default_factory=list)  # encoder parts: per t, the source position read

    @property
    def length(self) -> int:
        return len(self.tokens)


@dataclass
class TranslationTrace:
    """One sentence through a translator: a TraceData per part, and what ties them together."""

    parts: dict[str, TraceData]  # "encoder →", ("encoder ←",) "decoder"
    source: str
    target: str | None  # the target forced on the decoder; None: it decoded greedily
    source_tokens: list[str]  # as typed
    outputs: list[str]  # what the decoder produced at each step (forced or greedy), <eos> included if reached
    translation: str  # the outputs as text, without <eos>
    attention_kind: str  # none / additive / dot / general
    bidirectional: bool
    attention: list[list[float]] | None  # rows: decoder steps, columns: source tokens; None without attention


@dataclass
class ClassificationTrace:
    """One text through a classifier: its states per direction, and its decision after each prefix.

    ``probs[t]`` is p(class | tokens[0..t]) with that prefix classified alone, as the model would
    classify a text that stopped there (models.classifier.Classifier.prefix_probs). For a
    unidirectional model with ``last`` pooling that is the decision read off the state at t inside
    the whole text; with mean / max / attention pooling the pool covers the prefix only (attention
    renormalised over it); for a bidirectional model the ← direction reads each prefix from its own
    end, so those are not the ← states inside the whole text. The last row is the whole text's
    classification either way.

    The log-odds are those of the whole text's predicted class c: log p(c) / (1 − p(c)), with
    1 − p(c) the sum of the other classes (so for two classes the usual logit). ``delta[t]`` is how
    much token t moved them: log_odds[t] − log_odds[t − 1], and before the first token the
    log-odds of chance, p(c) = 1/C."""

    parts: dict[str, TraceData]  # {"": ...}, or {"forward →": ..., "backward ←": ... (reading order)} when bidirectional
    text: str
    tokens: list[str]  # as the classifier reads them (lowercased if the run was, cut to its max_tokens), length T
    classes: list[str]
    pooling: str
    bidirectional: bool
    probs: list[list[float]]  # per position t: p(class | tokens[0..t]), in the order of ``classes``
    label: int  # the whole text's predicted class (the argmax of probs[-1])
    log_odds: list[float]  # per t: the predicted class's log-odds after tokens[0..t]
    delta: list[float]  # per t: log_odds[t] − log_odds[t − 1] (t = 0: minus chance's log-odds)
    attention: list[float] | None  # α over the whole text's positions (attention pooling; they sum to 1), else None

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def predicted(self) -> str:
        return self.classes[self.label]

    def movers(self, upto: int | None = None, k: int = 3) -> list[int]:
        """The positions (≤ ``upto``, default all) whose tokens moved the predicted class's
        log-odds most, largest |Δ| first."""
        seen = range(self.length if upto is None else min(upto, self.length - 1) + 1)
        return sorted(seen, key=lambda t: (-abs(self.delta[t]), t))[:k]


@dataclass
class ForecastTrace:
    """One window of a series through a forecaster: its states at each step (one part, ``""``),
    the values it read and their dates, and the forecast from the window's last point (the
    origin) beside the truth, where the series has it, and the baselines' forecasts."""

    parts: dict[str, TraceData]
    series: str  # the target column's name
    origin: int  # the window's last point (0-based); the forecast is of the points after it
    points: list[int]  # the 0-based points the window read, oldest first
    dates: list[str]  # per step, the point as the data names it (its date, else "point N")
    values: list[float]  # per step, the value read, in the series' units
    inputs: list[list[float]]  # per step, what the model read: the transformed value (and the scaled features)
    features: list[str]  # the feature columns' names
    ahead: list[str]  # the forecast points as the data names them (dates continued past the end)
    forecast: list[float]  # the model's forecast of the H points after the origin, in the series' units
    truth: list[float]  # the true values of those points, as many as the series has (fewer near its end)
    baselines: dict[str, list[float]]  # name -> its forecast of the same points

    @property
    def length(self) -> int:
        return len(self.values)


def log_odds(probs: Sequence[float], c: int) -> float:
    """log p(c) / (1 − p(c)), the complement summed over the other classes (exact where p(c)
    rounds to 1), each side at least LOG_ODDS_FLOOR so a certain class stays finite."""
    rest = sum(p for k, p in enumerate(probs) if k != c)
    return math.log(max(probs[c], LOG_ODDS_FLOOR)) - math.log(max(rest, LOG_ODDS_FLOOR))


def state_before_step(by_time: Mapping[str, Sequence], layer: int, t: int, initial: Sequence) -> tuple:
    """The state, (h,) or (h, c), that ``layer`` had before step ``t``: ``initial`` (its state
    before the first step) at t = 0, else what step t − 1 left. ``by_time`` maps ``"{layer}.h"``
    (and ``.c``) to rows by step: lists or tensors alike."""
    if t == 0:
        return tuple(initial)
    return tuple(by_time[f"{layer}.{name}"][t - 1] for name in ("h", "c")[: len(initial)])


def equation_lines(data: TraceData, layer: int, t: int, unit: int) -> list[str]:
    """That unit's equations at step t with their numbers (equations.unit_equation)."""
    parts = {name: data.by_time[f"{layer}.{name}"][t][unit] for name in data.vectors}
    prev = tuple(s[unit] for s in state_before_step(data.by_time, layer, t, data.state_before[layer]))
    return unit_equation(data.cell, parts, prev)


def shown(token: str) -> str:
    """A token in running text: quoted, whitespace visible."""
    return f"'{visible_token(token)}'"


def split_source_target(text: str) -> tuple[str, str | None]:
    """``source => target`` -> (source, target); without the separator the target is None (greedy)."""
    source, _, target = text.partition(SEQ2SEQ_SEPARATOR)
    return source, target.strip() or None


# -- building ----------------------------------------------------------------------------------------


def _part(trace, vectors: Mapping[str, Any], **fields) -> TraceData:
    """A TraceData from (T, H) tensors keyed f"{layer}.{name}": the lists by time and by unit,
    and each vector's colour range over all layers (symmetric for the diverging ones)."""
    from rnn_tui.models.cells import CELLS

    spec = CELLS[trace.cell]
    kinds = {name: "sequential" if name in spec.sigmoid else "diverging" for name in spec.vectors}
    ranges: dict[str, tuple[float, float]] = {}
    for name, kind in kinds.items():
        lo, hi = DEFAULT_RANGES[kind]
        for layer in range(trace.layers):
            v = vectors[f"{layer}.{name}"]
            finite = v[v.isfinite()]
            if finite.numel():
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if kind == "diverging":
            bound = max(abs(lo), abs(hi))
            lo, hi = -bound, bound
        ranges[name] = (lo, hi)
    return TraceData(
        cell=trace.cell, layers=trace.layers, hidden=trace.hidden, vectors=spec.vectors, kinds=kinds,
        by_time={key: v.tolist() for key, v in vectors.items()}, by_unit={key: v.t().tolist() for key, v in vectors.items()},
        ranges=ranges, **fields)


def _direction(vectors: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """One direction of a bidirectional stack's (T, H) vectors, keyed f"{layer}.{name}": prefix ""
    the forward ones, "b" the backward ones (stored by position) flipped into their reading order."""
    return {key[len(prefix):]: v.flip(0) if prefix else v for key, v in vectors.items()
            if key.startswith(prefix) and key[len(prefix)].isdigit()}


def _topk(itos: list[str], ids, probs) -> list[list[tuple[str, float]]]:
    return [[(itos[i], p) for i, p in zip(row_ids, row_probs)] for row_ids, row_probs in zip(ids.tolist(), probs.tolist())]


def _states(states) -> list[list[list[float]]]:
    """Per layer, a state of (H,) tensors -> [h] or [h, c] as lists."""
    return [[s.tolist() for s in state] for state in states]


def lm_trace(loaded, text: str, topk: int = TOPK) -> TraceData:
    """Trace ``text`` through a LoadedRun: every vector of every layer at every token."""
    trace = loaded.trace(text, topk=topk)
    itos = loaded.vocab.itos
    typed = loaded.tokenize(text)  # shown as typed; the model reads <unk> where unknown
    read = [itos[i] for i in trace.tokens]
    return _part(
        trace, trace.vectors, tokens=typed, ids=list(trace.tokens), read=read,
        unknown={t for t, i in enumerate(trace.tokens) if i == loaded.vocab.unk_id and typed[t] != read[t]},
        state_before=_states(trace.state_before), topk=_topk(itos, trace.topk_ids, trace.topk_probs),
        next_logprob=trace.next_logprob.tolist(), actual=typed[1:],
    )


def translation_trace(loaded, text: str, target: str | None = None, topk: int = TOPK) -> TranslationTrace:
    """Trace one sentence through a LoadedTranslator: the target is ``target`` or the one written
    after ``source => `` in ``text`` (not both), else greedy decoding. The encoder ← is in its
    reading order (the sentence reversed), so in every part "before t" is t − 1."""
    text, written = split_source_target(text)
    if target is not None and written is not None:
        raise RnnTuiError(f"give the target once: `SOURCE{SEQ2SEQ_SEPARATOR}TARGET` or --target, not both")
    target = target or written
    trace = loaded.trace(text, target, topk=topk)
    src_tokens = loaded.source_tokens(text)
    src_itos, itos = loaded.src_vocab.itos, loaded.tgt_vocab.itos
    attention = trace.attention.tolist() if trace.attention is not None else None
    outputs = [itos[i] for i in trace.tgt_ids]

    def encoder_notes(order: list[int]) -> list[str]:
        if attention is None:
            return ["encoder: no prediction here (this run has no attention: the decoder reads one fixed context)"] * len(order)
        notes = []
        for j in order:
            weights = sorted(((row[j], outputs[t]) for t, row in enumerate(attention)), reverse=True)[:3]
            notes.append("encoder: no prediction here; the output tokens that attend most to this one:\n"
                         + "\n".join(f"  {shown(tok)} α = {w:.2f}" for w, tok in weights))
        return notes

    parts = {}
    forward = list(range(len(src_tokens)))
    for name, prefix, order in (("encoder →", "", forward), ("encoder ←", "b", forward[::-1])):
        if prefix == "b" and not trace.bidirectional:
            continue
        ids = [trace.src_ids[j] for j in order]
        parts[name] = _part(
            trace, _direction(trace.encoder, prefix), tokens=[src_tokens[j] for j in order], ids=ids,
            read=[src_itos[i] for i in ids],
            positions=order, unknown={k for k, i in enumerate(ids) if i == loaded.src_vocab.unk_id},
            state_before=_states(trace.encoder_state_before), topk=[[] for _ in order], next_logprob=[],
            part=name, notes=encoder_notes(order))
    inputs = [itos[i] for i in trace.inputs]
    parts["decoder"] = _part(
        trace, trace.decoder, tokens=inputs, ids=list(trace.inputs), read=inputs,
        state_before=_states(trace.decoder_state_before), topk=_topk(itos, trace.topk_ids, trace.topk_probs),
        next_logprob=trace.logprobs.tolist(), actual=outputs, part="decoder")
    ended = trace.tgt_ids[-1:] == [loaded.tgt_vocab.eos_id]
    return TranslationTrace(
        parts=parts, source=text, target=target, source_tokens=src_tokens, outputs=outputs,
        translation=loaded.detokenize(trace.tgt_ids[:-1] if ended else trace.tgt_ids),
        attention_kind=trace.attention_kind, bidirectional=trace.bidirectional, attention=attention)


def classification_trace(loaded, text: str) -> ClassificationTrace:
    """Trace ``text`` through a LoadedClassifier: every vector of every layer at every token (both
    directions when bidirectional), the class probabilities after each prefix, the log-odds of
    the predicted class and each token's change of them, and the attention weights (attention
    pooling). See ClassificationTrace for what a prefix's probabilities are."""
    model = loaded.model
    tokens = loaded.tokens(text)
    if not tokens:
        raise RnnTuiError("the text has no tokens to inspect")
    ids = loaded.vocab.encode(tokens)
    itos, T, C = loaded.vocab.itos, len(ids), len(loaded.classes)
    probs = model.prefix_probs(ids).tolist()
    label = max(range(C), key=probs[-1].__getitem__)
    odds = [log_odds(row, label) for row in probs]
    chance = -math.log(C - 1)  # log (1/C) / (1 − 1/C)
    delta = [b - a for a, b in zip([chance, *odds], odds)]
    attention = model.pool_weights(ids).tolist() if model.pooling == "attention" else None
    vectors, state_before = model.trace(ids)
    trace = ClassificationTrace(
        parts={}, text=text, tokens=tokens, classes=list(loaded.classes), pooling=model.pooling,
        bidirectional=model.rnn_b is not None, probs=probs, label=label, log_odds=odds, delta=delta, attention=attention)
    forward = list(range(T))
    directions = (("forward →", "", forward), ("backward ←", "b", forward[::-1])) if trace.bidirectional else (("", "", forward),)
    for name, prefix, order in directions:
        trace.parts[name] = _part(
            model.rnn, _direction(vectors, prefix), tokens=[tokens[j] for j in order], ids=[ids[j] for j in order],
            read=[itos[ids[j]] for j in order], positions=order,
            unknown={k for k, j in enumerate(order) if ids[j] == loaded.vocab.unk_id and tokens[j] != itos[ids[j]]},
            state_before=_states(state_before), topk=[[] for _ in order], next_logprob=[], part=name,
            notes=[decision_note(trace, j) for j in order])
    return trace


def decision_note(trace: ClassificationTrace, t: int) -> str:
    """What the classifier made of tokens[0..t]: the likeliest classes with bars, the predicted
    class's log-odds and this token's change of them, its attention weight."""
    probs = trace.probs[t]
    shown_classes = sorted(range(len(probs)), key=lambda c: -probs[c])[:MAX_CLASSES_SHOWN]
    if trace.label not in shown_classes:
        shown_classes[-1] = trace.label
    width = max(len(trace.classes[c]) for c in shown_classes)
    lines = [f"after {shown(trace.tokens[t])}, token {t + 1} of {trace.length} (the prefix classified alone):"]
    lines += [f" {trace.classes[c]:<{width}} {probs[c]:6.3f} {'█' * round(probs[c] * 10)}" for c in shown_classes]
    lines.append(f"log-odds of {trace.predicted}: {trace.log_odds[t]:+.2f} (Δ {trace.delta[t]:+.2f} at this token)")
    if trace.attention is not None:
        lines.append(f"attention weight α = {trace.attention[t]:.3f} (in the whole text)")
    return "\n".join(lines)


def origin_of(data, text: str | None) -> int | None:
    """The origin (0-based point) that ``text`` names in a ForecastData: a date as the data writes
    it, a point number (1-based), or ``end`` (the last point: the forecast is of the future);
    None (empty text) picks the default, the last point with a whole horizon of truth after it."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    n = len(data.values)
    if text == "end":
        return n - 1
    dates = data.series.dates or []
    if text in dates:
        return dates.index(text)
    number = text.removeprefix("point ").strip()
    if number.isdigit() and 1 <= int(number) <= n:
        return int(number) - 1
    where = f"a date from {dates[0]} to {dates[-1]}, " if dates else ""
    raise RnnTuiError(f"no point {text!r} in {data.series.name}: give {where}a point number from 1 to {n}, or `end`")


def forecast_trace(loaded, origin: str | int | None = None) -> ForecastTrace:
    """Trace the window ending at ``origin`` through a LoadedForecaster: every vector of every
    layer at every step, the values and dates read, the model's forecast from its last point, the
    truth (where the series has it) and the baselines' forecasts. ``origin``: a 0-based point, or
    text for origin_of (None: the last point with a whole horizon of truth after it)."""
    from rnn_tui.data.series import next_dates

    task = loaded.task
    data, model, H = task.data, loaded.model, task.data.horizon
    n = len(data.values)
    o = origin if isinstance(origin, int) else origin_of(data, origin)
    if o is None:
        o = max(n - 1 - H, data.window - 1 + data.transform.lost)
    vectors, state_before = loaded.trace(o)  # checks a whole window ends at o
    points = list(range(o - data.window + 1, o + 1))
    window = data.windows([o])[0]
    values = [float(data.values[p]) for p in points]
    forecast = data.transform.inverse(task.predict([o]), [o], data.values)[0].tolist()
    known = list(range(o + 1, min(o + 1 + H, n)))
    later = H - len(known)
    dates = data.series.dates
    ahead = [data.date(p) for p in known] + (next_dates(dates, later) if dates and later else
                                              [f"point {p + 1}" for p in range(n, n + later)])
    baselines = {name: f[0].tolist() for name, f in task.fitted.forecasts([o]).items()}
    shown = [f"{v:.4g}" for v in values]
    trace = ForecastTrace(
        parts={}, series=data.series.name, origin=o, points=points, dates=[data.date(p) for p in points],
        values=values, inputs=window.tolist(), features=list(data.series.feature_names), ahead=ahead,
        forecast=forecast, truth=[float(data.values[p]) for p in known], baselines=baselines)
    trace.parts[""] = _part(
        model.rnn, vectors, tokens=shown, read=shown, state_before=_states(state_before),
        topk=[[] for _ in points], next_logprob=[], notes=[forecast_note(trace, t) for t in range(len(points))])
    return trace


def forecast_note(trace: ForecastTrace, t: int) -> str:
    """What the forecaster read at step t of the window; at the last step, its forecast from
    there beside the truth and the baselines'."""
    z = trace.inputs[t]
    read = f"z = {z[0]:+.4f}" + "".join(f", {name} {v:+.3f}" for name, v in zip(trace.features, z[1:]))
    lines = [f"{trace.dates[t]}: {trace.series} = {trace.values[t]:.6g}",
             f"read as {read} (transformed, scaled)", f"step {t + 1} of {trace.length} of the window"]
    if t < trace.length - 1:
        return "\n".join(lines)
    lines += ["", f"forecast from {trace.dates[t]}:"]
    for h, when in enumerate(trace.ahead):  # two short lines a step: the side panel is ~34 columns at 80
        truth = f"{trace.truth[h]:.4g}" if h < len(trace.truth) else "?"
        lines += [f" {when} model {trace.forecast[h]:.4g} truth {truth}",
                  "   " + " ".join(f"{BASELINE_SHORT.get(b, b)} {f[h]:.4g}" for b, f in trace.baselines.items())]
    if not trace.truth:
        lines.append("(after the series' end: no truth to compare)")
    return "\n".join(lines)


BASELINE_SHORT = {"persistence": "last", "seasonal_naive": "season", "ar": "AR"}
"""The baselines' column heads in a forecast's table."""
