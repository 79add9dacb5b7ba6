"""Interventions: set units of a recurrent layer to chosen values at every step, and watch the model.

    --ablate LAYER:UNIT                     h = 0 in that unit (and c = 0 for an LSTM)
    --clamp LAYER:UNIT=VALUE                h = VALUE in that unit
    --clamp LAYER:c:UNIT=VALUE              c = VALUE in that unit (LSTMs)
    --freeze-gate LAYER:GATE=VALUE          the gate = VALUE in every unit of the layer
    --freeze-gate LAYER:GATE:UNIT=VALUE     ... in one unit (gates: i f g o for LSTMs, r z n for GRUs)

Layers and units count from 0. Each flag may be repeated; one unit's vector may be set once.

When: at every step t, inside the cell's step function (cells.py ``fix``), the moment the vector
is computed. A frozen gate is used for that step's c and h; a set c gives h = o ⊙ tanh(c); a set h
is the h_t that is carried to step t+1, read by the layer above and by the output layer. So an
ablated LSTM unit has c_t = 0 and h_t = 0 at every t (its tanh(c) is 0 too), and the model never
sees any other value of it. The fused kernels cannot do this, so an intervened model runs the step
functions (models/recurrent.py), as generation and inspection always do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from rnn_tui.errors import RnnTuiError
from rnn_tui.models.cells import CellSpec, Fix

FLAGS = ("ablate", "clamp", "freeze-gate")
SYNTAX = {"ablate": "LAYER:UNIT", "clamp": "LAYER:[c:]UNIT=VALUE", "freeze-gate": "LAYER:GATE[:UNIT]=VALUE"}
_PATTERN = {
    "ablate": re.compile(r"(?P<layer>\d+):(?P<unit>\d+)"),
    "clamp": re.compile(r"(?P<layer>\d+):(?:(?P<vector>[hc]):)?(?P<unit>\d+)=(?P<value>\S+)"),
    "freeze-gate": re.compile(r"(?P<layer>\d+):(?P<vector>[a-z]+)(?::(?P<unit>\d+))?=(?P<value>\S+)"),
}
_EXAMPLE = {"ablate": "0:12", "clamp": "0:12=0.5 or 0:c:12=-1", "freeze-gate": "0:f=1 or 0:f:12=1"}


@dataclass(frozen=True)
class Intervention:
    """One flag: set ``vector`` ("h", "c" or a gate) of ``unit`` (None: every unit) in ``layer``
    to ``value`` at every step; ``kind`` "ablate" sets h and, in an LSTM, c to 0."""

    kind: str  # one of FLAGS
    layer: int
    unit: int | None
    vector: str = "h"
    value: float = 0.0

    def __str__(self) -> str:
        """The flag as it would be written: ``--ablate 0:12``, ``--clamp 0:c:3=0.5``, ``--freeze-gate 0:f=1``."""
        if self.kind == "ablate":
            return f"--ablate {self.layer}:{self.unit}"
        if self.kind == "clamp":
            c = "c:" if self.vector == "c" else ""
            return f"--clamp {self.layer}:{c}{self.unit}={self.value:g}"
        unit = "" if self.unit is None else f":{self.unit}"
        return f"--freeze-gate {self.layer}:{self.vector}{unit}={self.value:g}"

    def vectors(self, spec: CellSpec) -> tuple[str, ...]:
        """The vectors this sets in a cell of ``spec``: ablation zeroes c too where there is one."""
        return ("c", "h") if self.kind == "ablate" and spec.has_c else (self.vector,)


def parse(ablate: Iterable[str] = (), clamp: Iterable[str] = (), freeze_gate: Iterable[str] = ()) -> tuple[Intervention, ...]:
    """The flags' texts -> interventions, in flag order; a malformed one is one clear line. Whether
    the layer, unit and gate exist is checked against a model by ``fixes``."""
    out = []
    for kind, specs in zip(FLAGS, (ablate, clamp, freeze_gate)):
        for text in specs:
            m = _PATTERN[kind].fullmatch(text.strip())
            if m is None:
                raise RnnTuiError(f"--{kind} {text}: expected {SYNTAX[kind]}, e.g. {_EXAMPLE[kind]}")
            value = 0.0
            if kind != "ablate":
                try:
                    value = float(m["value"])
                except ValueError:
                    raise RnnTuiError(f"--{kind} {text}: the value {m['value']!r} is not a number") from None
                if not math.isfinite(value):
                    raise RnnTuiError(f"--{kind} {text}: the value must be a finite number")
            unit = int(m["unit"]) if m["unit"] is not None else None
            out.append(Intervention(kind, int(m["layer"]), unit, m.groupdict().get("vector") or "h", value))
    return tuple(out)


def check(interventions: Iterable[Intervention], spec: CellSpec, layers: int, hidden: int) -> None:
    """One clear line for an intervention the model cannot take: a layer or unit out of range, a
    gate or a c the cell does not have, a gate value outside its range, a unit set twice."""
    seen: dict[tuple[int, str, int | None], Intervention] = {}
    for iv in interventions:
        if not 0 <= iv.layer < layers:
            which = "layer 0" if layers == 1 else f"layers 0-{layers - 1}"
            raise RnnTuiError(f"{iv}: layer {iv.layer} is out of range; the model has {which}")
        if iv.unit is not None and not 0 <= iv.unit < hidden:
            raise RnnTuiError(f"{iv}: unit {iv.unit} is out of range; layer {iv.layer} has {hidden} units (0-{hidden - 1})")
        if iv.kind == "clamp" and iv.vector == "c" and not spec.has_c:
            raise RnnTuiError(f"{iv}: {spec.name} cells have no c (their state is h alone); clamp h with "
                              f"--clamp {iv.layer}:{iv.unit}={iv.value:g}")
        if iv.kind == "freeze-gate":
            if iv.vector not in spec.gates:
                gates = f"gates {', '.join(spec.gates)}" if spec.gates else "no gates"
                raise RnnTuiError(f"{iv}: {spec.name} cells have {gates}")
            low = 0.0 if iv.vector in spec.sigmoid else -1.0
            if not low <= iv.value <= 1.0:
                raise RnnTuiError(f"{iv}: gate {iv.vector} takes values in [{low:g}, 1]")
        for vector in iv.vectors(spec):
            for unit in (iv.unit, None) if iv.unit is not None else [None, *range(hidden)]:
                other = seen.get((iv.layer, vector, unit))
                if other is not None:
                    raise RnnTuiError(f"{iv} and {other} both set {vector} of layer {iv.layer}"
                                      + (f" unit {unit}" if unit is not None else "") + "; keep one")
            seen[(iv.layer, vector, iv.unit)] = iv


def fixes(interventions: Iterable[Intervention], spec: CellSpec, layers: int, hidden: int,
          device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> dict[int, Fix]:
    """The interventions, checked, as cells.py fixes: layer -> vector -> (mask (H,), values (H,))."""
    interventions = tuple(interventions)
    check(interventions, spec, layers, hidden)
    out: dict[int, Fix] = {}
    for iv in interventions:
        for vector in iv.vectors(spec):
            mask, values = out.setdefault(iv.layer, {}).setdefault(
                vector, (torch.zeros(hidden, dtype=torch.bool, device=device), torch.zeros(hidden, dtype=dtype, device=device)))
            where = slice(None) if iv.unit is None else iv.unit
            mask[where], values[where] = True, iv.value
    return out
