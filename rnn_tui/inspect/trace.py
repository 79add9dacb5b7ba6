"""A model trace as plain data: what the Inspect tab shows and `rnn-tui inspect` prints.

A language model gives one TraceData; a translator gives one per part: the encoder → , the
encoder ← (when bidirectional, in its own reading order: the sentence reversed) and the
decoder. Each holds, per (layer, vector), the (T, H) rows by time and the (H, T) rows by unit as
Python lists, the colour range of each vector, the state before the first step, the next-token
top-k, and what to say where a part predicts nothing. Built once from a model's trace (tensors
in, lists out; this module never imports torch itself); everything after that is list lookups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rnn_tui.display import visible_token
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.equations import unit_equation

TOPK = 5
SEQ2SEQ_SEPARATOR = " => "
"""In the text of a translation run: ``source => target`` forces the target (else greedy)."""
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
        vectors = {key[len(prefix):]: v.flip(0) if prefix else v for key, v in trace.encoder.items()
                   if key.startswith(prefix) and key[len(prefix)].isdigit()}
        ids = [trace.src_ids[j] for j in order]
        parts[name] = _part(
            trace, vectors, tokens=[src_tokens[j] for j in order], ids=ids, read=[src_itos[i] for i in ids],
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
