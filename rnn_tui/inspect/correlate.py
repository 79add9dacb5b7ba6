"""Units that mean something: which units of a language model track a hypothesis about the text
(hypotheses.py), how sure that is, and how saturated the gates are. `rnn-tui units` prints it.

The states. The text is read by every layer's step functions (the cell's equations, as Inspect
reads a text), in ``streams`` pieces side by side: piece b starts ``warmup`` characters early
from a zero state and those warm-up steps are dropped, so each kept state has read at least
that much context (the first piece starts at the text's start, as a single pass would). Every
unit of h, c and tanh(c) (LSTM) and the gates of every layer is then one series over the text.
tanh(c) is what the output gate shows of the cell (h = o ⊙ tanh(c)) and what Karpathy, Johnson and
Fei-Fei (2015) colour their text by; c itself grows past ±1, so a unit that saturates in tanh(c)
correlates differently in each (measured on a 1 × 256 python-stdlib LSTM: the best quote unit
r = −0.634 in tanh(c), −0.580 in c).

The correlation. For each hypothesis and unit, Pearson's r between the unit's series and the
hypothesis' signal; for each hypothesis the units with the largest |r| are listed, with a
permutation p-value: the share of ``shifts`` circular shifts of the signal (the signal rotated by
k characters, k evenly spaced over the middle 80% of the text's length) whose |r| with the unit
is at least the observed one (counting the observed one: p ≥ 1 / (shifts + 1)).

Why shifts and not shuffles: both a unit and a signal like depth move slowly (each step is
close to the last), and two unrelated slow series correlate by chance far more than shuffled
ones do. A shuffle destroys that autocorrelation, so its null distribution is far too narrow
and almost every unit would look significant; a circular shift keeps each series exactly as it
is (its values and its autocorrelation) and only breaks their alignment. All shifts come from
one FFT per (layer, vector): the circular cross-correlation at every lag at once.

A unit matches a hypothesis when |r| ≥ ``threshold`` and p < ``alpha`` (both reported); the
share of units matching some hypothesis is over every unit of every listed vector.

With ``rank``, Spearman's ρ in place of Pearson's r: the same computation on each series' ranks
(tied values share their mean rank), so a unit that tracks a hypothesis monotonically but not
linearly (one that saturates, as an indentation unit does past a few levels) scores by how well
it orders the text, not by how straight the line is. The shifts' null is the same: ranking and
shifting commute.

Gate saturation (Karpathy, Johnson and Fei-Fei 2015, figure 3): per σ gate, layer and unit, the
fraction of steps with the gate below 0.1 (left-saturated) and above 0.9 (right-saturated);
a unit counts as left- or right-saturated when it is so in more than ``SATURATED_SHARE`` of the steps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.hypotheses import HYPOTHESES, signals

if TYPE_CHECKING:
    import torch

    from rnn_tui.api import LoadedRun

DEFAULT_CHARS = 20_000
"""The characters analysed unless told otherwise (the start of the text)."""
MIN_CHARS = 200
"""Fewer characters leave too few distinct shifts for a p-value."""
DEFAULT_TOP = 5
DEFAULT_SHIFTS = 999
DEFAULT_THRESHOLD = 0.5
DEFAULT_ALPHA = 0.01
DEFAULT_STREAMS = 16
DEFAULT_WARMUP = 500
SHIFT_MARGIN = 0.1
"""Shifts avoid the first and last 10% of lags: near 0 a shifted slow signal is nearly itself."""
LEFT, RIGHT = 0.1, 0.9
"""A σ gate below LEFT is left-saturated (about closed), above RIGHT right-saturated (about open)."""
SATURATED_SHARE = 0.9
"""A unit counts as saturated one way when it is so in more than this share of the steps."""


@dataclass
class UnitMatch:
    """One unit's correlation with a hypothesis; the sign of r is the direction."""

    layer: int
    vector: str  # h, c or a gate
    unit: int
    r: float
    p: float

    @property
    def key(self) -> str:
        """As Inspect names a vector: ``"0.h"``."""
        return f"{self.layer}.{self.vector}"


@dataclass
class HypothesisResult:
    name: str
    units: list[UnitMatch]  # the best correlated units, largest |r| first
    matched: int  # units with |r| ≥ threshold and p < alpha
    note: str = ""  # why there are no units (the text has no variation of it)


@dataclass
class GateSaturation:
    layer: int
    gate: str
    left: list[float]  # per unit, the fraction of steps below LEFT
    right: list[float]  # per unit, the fraction of steps above RIGHT
    left_units: float  # the share of units left-saturated in more than SATURATED_SHARE of the steps
    right_units: float


@dataclass
class UnitsReport:
    """What `rnn-tui units` prints and a Lab pane draws (``to_dict`` is the --json)."""

    run: str
    cell: str
    layers: int
    hidden: int
    text: str  # where the text came from
    chars: int
    vectors: list[str]  # the vectors searched, per layer
    settings: dict[str, float]  # shifts, threshold, alpha, streams, warmup, saturation limits
    hypotheses: list[HypothesisResult]
    matched: int  # units that match some hypothesis
    units: int  # units searched (layers × vectors × hidden)
    saturation: list[GateSaturation] = field(default_factory=list)
    statistic: str = "pearson"  # or "spearman" (``rank``): what r is

    @property
    def share(self) -> float:
        return self.matched / self.units if self.units else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share}


# -- the text ----------------------------------------------------------------------------------


def analysis_text(loaded: LoadedRun, spec: str | None = None, chars: int = DEFAULT_CHARS) -> tuple[str, str]:
    """The text to analyse and where it came from: the start (at most ``chars`` characters) of
    ``spec``'s text, or by default of the run's own validation text; lowercased if the run's was."""
    from rnn_tui.data.corpus import corpus_text
    from rnn_tui.data.text import split_sizes

    check_char_level(loaded)
    if chars < MIN_CHARS:
        raise RnnTuiError(f"--chars {chars} is too few to test a correlation; give at least {MIN_CHARS}")
    d = loaded.config.data
    if spec is None:
        text = corpus_text(d)
        n_train, n_val, _ = split_sizes(len(text), d.val_fraction, d.test_fraction)  # char tokens: one per character
        return text[n_train:n_train + n_val][:chars], f"the validation text of {d.spec}"
    return corpus_text(d, spec=spec)[:chars], spec


def check_char_level(loaded: LoadedRun) -> None:
    tokenizer = loaded.config.data.tokenizer
    if tokenizer != "char":
        raise RnnTuiError(f"{loaded.run.id} reads {tokenizer} tokens; units needs a character-level run "
                          "(the hypotheses are per character)")


# -- the states --------------------------------------------------------------------------------


def searched_vectors(cell: str) -> tuple[str, ...]:
    """The vectors whose units are searched: h, c and tanh(c) (LSTM) and the cell's gates."""
    from rnn_tui.models.cells import CELLS

    spec = CELLS[cell]
    return ("h", "c", "tanh_c")[: 3 if spec.has_c else 1] + spec.gates


def stream_states(loaded: LoadedRun, text: str, streams: int = DEFAULT_STREAMS,
                  warmup: int = DEFAULT_WARMUP) -> dict[str, torch.Tensor]:
    """Every intermediate of every layer at every character of ``text``: {"0.h": (T, H), ...}
    float64, read in ``streams`` pieces side by side (the module's docstring)."""
    import torch

    ids = torch.tensor(loaded.encode(text), dtype=torch.long)
    T = ids.numel()
    streams = max(1, min(streams, T // max(warmup, 1)))
    length = math.ceil(T / streams)
    starts = [min(b * length, T) for b in range(streams)]
    begins = [max(0, s - warmup) for s in starts]
    span = length + max(s - b for s, b in zip(starts, begins))
    rows = torch.zeros(streams, span, dtype=torch.long)
    for b, begin in enumerate(begins):
        piece = ids[begin:begin + span]
        rows[b, :piece.numel()] = piece
    model = loaded.model
    rnn = model.rnn
    parts: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        x = model._input(rows.to(model.head.weight.device))  # (B, S, I): the LM's embedding (or one-hot)
        state = rnn.init_state(streams, x.device)
        for k in range(rnn.layers):
            w_ih, b_ih, cell = rnn._layer_step(k)  # the cell's step function on layer k's weights, as Recurrent.trace
            s = tuple(t[k] for t in state)
            steps: list[dict[str, torch.Tensor]] = []
            for gx_t in torch.nn.functional.linear(x, w_ih, b_ih).unbind(1):
                s, p = cell(gx_t, s)
                steps.append(p)
            for name in steps[0]:
                parts[f"{k}.{name}"] = torch.stack([p[name] for p in steps], dim=1)  # (B, S, H)
            x = parts[f"{k}.h"]
    keep = [(b, starts[b] - begins[b], min(length, T - starts[b])) for b in range(streams) if starts[b] < T]
    return {key: torch.cat([v[b, skip:skip + n] for b, skip, n in keep]).double().cpu() for key, v in parts.items()}


# -- the statistics ----------------------------------------------------------------------------


def lag_shifts(T: int, shifts: int) -> list[int]:
    """``shifts`` lags evenly spaced over the middle of [1, T) (fewer when the text has fewer)."""
    lo, hi = max(1, round(T * SHIFT_MARGIN)), min(T - 1, round(T * (1 - SHIFT_MARGIN)))
    if hi - lo + 1 <= shifts:
        return list(range(lo, hi + 1))
    return sorted({lo + round(j * (hi - lo) / (shifts - 1)) for j in range(shifts)}) if shifts > 1 else [lo]


def average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Each column of x (T, H), or x (T,) itself, as its ranks 1..T (float64), tied values sharing
    the mean of their ranks (Spearman's convention)."""
    import torch

    column = x.dim() == 1
    x = x[:, None] if column else x
    order = x.argsort(dim=0, stable=True)
    ordered = x.gather(0, order)
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    group = starts.long().cumsum(0)  # per column, the tie group of each sorted position (1, 2, ...)
    position = torch.arange(1, x.size(0) + 1, dtype=torch.float64)[:, None].expand(ordered.shape)
    total = torch.zeros(x.size(0) + 1, x.size(1), dtype=torch.float64).scatter_add_(0, group, position)
    count = torch.zeros_like(total).scatter_add_(0, group, torch.ones_like(position))
    ranks = torch.empty_like(position).scatter_(0, order, (total / count.clamp(min=1)).gather(0, group))
    return ranks[:, 0] if column else ranks


def _standardised(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Columns of x (T, H) centred and scaled to norm 1; and which columns vary at all."""
    centred = x - x.mean(0, keepdim=True)
    norm = centred.norm(dim=0)
    varies = norm > 1e-9 * (1 + x.abs().amax(0))
    return centred / norm.where(varies, norm.new_ones(())), varies


def correlations(x: torch.Tensor, signal: torch.Tensor, lags: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pearson r of each column of x (T, H) with ``signal`` (T,), and each one's p-value against
    the signal circularly shifted by each of ``lags``. A constant column has r = 0, p = 1."""
    import torch

    xz, varies = _standardised(x)
    sz, signal_varies = _standardised(signal[:, None])
    if not bool(signal_varies):
        raise ValueError("the signal is constant")
    return _correlations(xz, varies, torch.fft.rfft(xz, dim=0), sz[:, 0], lags)


def _correlations(xz, varies, xf, sz, lags):
    """correlations() with x standardised and its FFT (over time) given, so many signals share them."""
    import torch

    T = xz.size(0)
    r = (xz * sz[:, None]).sum(0)
    # circular cross-correlation, every lag at once: cc[k] = Σ_t xz[t] · sz[(t + k) mod T]
    cc = torch.fft.irfft(xf.conj() * torch.fft.rfft(sz)[:, None], n=T, dim=0)
    null = cc[torch.tensor(list(lags), dtype=torch.long)]  # (N, H)
    exceed = (null.abs() >= r.abs()[None, :] - 1e-12).sum(0)
    p = (exceed + 1).double() / (len(lags) + 1)
    return r.where(varies, r.new_zeros(())), p.where(varies, p.new_ones(()))


def saturation(states: dict[str, torch.Tensor], cell: str, layers: int) -> list[GateSaturation]:
    """Per σ gate and layer, each unit's fraction of steps below LEFT and above RIGHT."""
    from rnn_tui.models.cells import CELLS

    out = []
    for k in range(layers):
        for gate in CELLS[cell].sigmoid:
            v = states[f"{k}.{gate}"]
            left, right = (v < LEFT).double().mean(0), (v > RIGHT).double().mean(0)
            out.append(GateSaturation(
                layer=k, gate=gate, left=left.tolist(), right=right.tolist(),
                left_units=float((left > SATURATED_SHARE).double().mean()),
                right_units=float((right > SATURATED_SHARE).double().mean())))
    return out


def find_units(loaded: LoadedRun, text: str, hypotheses: Sequence[str] = tuple(HYPOTHESES), where: str = "",
               top: int = DEFAULT_TOP, shifts: int = DEFAULT_SHIFTS, threshold: float = DEFAULT_THRESHOLD,
               alpha: float = DEFAULT_ALPHA, streams: int = DEFAULT_STREAMS,
               warmup: int = DEFAULT_WARMUP, rank: bool = False) -> UnitsReport:
    """For each hypothesis, the ``top`` units of ``loaded`` best correlated with it over ``text``
    (any layer, h, c, tanh(c) or a gate), their p-values, how many units match it, the share of units that
    match some hypothesis, and the gates' saturation (see the module's docstring); ``rank``:
    Spearman's ρ in place of Pearson's r."""
    import torch

    check_char_level(loaded)
    if top < 1 or shifts < 1:
        raise RnnTuiError(f"--top and --shifts must be at least 1; got {top} and {shifts}")
    if not 0 < threshold <= 1 or not 0 < alpha <= 1:
        raise RnnTuiError(f"--threshold and --alpha must be in (0, 1]; got {threshold} and {alpha}")
    if len(text) < MIN_CHARS:
        raise RnnTuiError(f"the text has {len(text)} characters; give at least {MIN_CHARS} to test a correlation")
    named = signals(hypotheses, text)  # a bad name fails here, before the model runs
    states = stream_states(loaded, text, streams, warmup)
    cfg = loaded.config.model
    vectors = searched_vectors(cfg.cell)
    lags = lag_shifts(len(text), shifts)
    standard: dict[str, torch.Tensor | None] = {}  # name -> the standardised signal, None where it does not vary
    for name, values in named.items():
        series = torch.tensor(values, dtype=torch.float64)
        z, signal_varies = _standardised((average_ranks(series) if rank else series)[:, None])
        standard[name] = z[:, 0] if bool(signal_varies) else None
    found: dict[str, list[UnitMatch]] = {name: [] for name in named}
    matching: dict[str, torch.Tensor] = {}  # "0.h" -> which of its units match some hypothesis
    counts = dict.fromkeys(named, 0)
    for k in range(cfg.layers):
        for vector in vectors:
            key = f"{k}.{vector}"
            xz, varies = _standardised(average_ranks(states[key]) if rank else states[key])
            xf = torch.fft.rfft(xz, dim=0)
            matching[key] = torch.zeros(xz.size(1), dtype=torch.bool)
            for name, signal in standard.items():
                if signal is None:
                    continue
                r, p = _correlations(xz, varies, xf, signal, lags)
                hits = (r.abs() >= threshold) & (p < alpha)
                counts[name] += int(hits.sum())
                matching[key] |= hits
                best = r.abs().argsort(descending=True)[:top].tolist()
                found[name] += [UnitMatch(k, vector, u, float(r[u]), float(p[u])) for u in best]
    results = []
    for name in named:
        best_units = sorted(found[name], key=lambda m: -abs(m.r))[:top]
        note = "" if standard[name] is not None else f"the text has no {name} variation"
        results.append(HypothesisResult(name=name, units=best_units, matched=counts[name], note=note))
    return UnitsReport(
        run=loaded.run.id, cell=cfg.cell, layers=cfg.layers, hidden=cfg.hidden, text=where, chars=len(text),
        vectors=list(vectors),
        settings={"shifts": len(lags), "threshold": threshold, "alpha": alpha, "streams": streams, "warmup": warmup,
                  "left": LEFT, "right": RIGHT, "saturated_share": SATURATED_SHARE},
        hypotheses=results, matched=int(sum(int(m.sum()) for m in matching.values())),
        units=sum(m.numel() for m in matching.values()), saturation=saturation(states, cfg.cell, cfg.layers),
        statistic="spearman" if rank else "pearson")
