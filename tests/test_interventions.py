"""Interventions (models/interventions.py): the flags parsed and checked in one place, applied
inside the cells' step functions, so that a forward pass, step-by-step decoding and the trace all
see exactly the set values; and `score` / `generate` / inspect under them."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from rnn_tui.api import load_lm
from rnn_tui.decode.score import DEFAULT_CLASSES, MIXED, loss_change, parse_classes, token_class
from rnn_tui.decode.settings import Sampling
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.cells import CELLS
from rnn_tui.models.interventions import Intervention, check, parse
from rnn_tui.models.recurrent import Recurrent
from tests.conftest import train_tiny_run
from tests.test_cli import run_cli

I, H, T = 5, 6, 9  # noqa: E741 — input, hidden, time


def _rec(cell: str, layers: int = 2) -> Recurrent:
    torch.manual_seed(len(cell) + layers)
    return Recurrent(cell, I, H, layers).eval()


def _traced(rec: Recurrent, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """parts[layer][t][name] -> {"layer.name": (T, H)}"""
    parts, _ = rec.trace(x)
    return {f"{k}.{name}": torch.stack([p[name] for p in layer]) for k, layer in enumerate(parts) for name in layer[0]}


# -- the flags -----------------------------------------------------------------------------------


def test_parse_reads_every_form_and_writes_it_back() -> None:
    ivs = parse(ablate=["0:12"], clamp=["1:3=0.5", "0:c:4=-1"], freeze_gate=["0:f=1", "1:z:7=0.25"])
    assert ivs == (Intervention("ablate", 0, 12), Intervention("clamp", 1, 3, "h", 0.5),
                   Intervention("clamp", 0, 4, "c", -1.0), Intervention("freeze-gate", 0, None, "f", 1.0),
                   Intervention("freeze-gate", 1, 7, "z", 0.25))
    assert [str(iv) for iv in ivs] == ["--ablate 0:12", "--clamp 1:3=0.5", "--clamp 0:c:4=-1", "--freeze-gate 0:f=1",
                                       "--freeze-gate 1:z:7=0.25"]
    assert parse(*([[str(iv).split()[1]] for iv in ivs[:1]])) == ivs[:1]
    assert ivs[0].vectors(CELLS["lstm"]) == ("c", "h") and ivs[0].vectors(CELLS["gru"]) == ("h",)


@pytest.mark.parametrize(("flags", "message"), [
    ({"ablate": ["12"]}, "--ablate 12: expected LAYER:UNIT"),
    ({"ablate": ["0:-1"]}, "expected LAYER:UNIT"),
    ({"clamp": ["0:3"]}, "--clamp 0:3: expected LAYER:[c:]UNIT=VALUE"),
    ({"clamp": ["0:3=abc"]}, "the value 'abc' is not a number"),
    ({"clamp": ["0:3=inf"]}, "finite"),
    ({"freeze_gate": ["0:f"]}, "expected LAYER:GATE[:UNIT]=VALUE"),
])
def test_a_malformed_flag_is_one_clear_line(flags, message) -> None:
    with pytest.raises(RnnTuiError, match=re.escape(message)):
        parse(**flags)


@pytest.mark.parametrize(("cell", "flags", "message"), [
    ("lstm", {"ablate": ["0:6"]}, "unit 6 is out of range; layer 0 has 6 units (0-5)"),
    ("lstm", {"ablate": ["2:0"]}, "layer 2 is out of range; the model has layers 0-1"),
    ("gru", {"clamp": ["0:c:1=0.5"]}, "gru cells have no c"),
    ("lstm", {"freeze_gate": ["0:z=1"]}, "lstm cells have gates i, f, g, o"),
    ("rnn", {"freeze_gate": ["0:f=1"]}, "rnn cells have no gates"),
    ("lstm", {"freeze_gate": ["0:f=1.5"]}, "gate f takes values in [0, 1]"),
    ("gru", {"freeze_gate": ["0:n=-2"]}, "gate n takes values in [-1, 1]"),
    ("lstm", {"ablate": ["0:3"], "clamp": ["0:3=1"]}, "both set h of layer 0 unit 3"),
    ("lstm", {"ablate": ["1:3"], "clamp": ["1:c:3=1"]}, "both set c of layer 1 unit 3"),
    ("lstm", {"freeze_gate": ["0:f:2=0", "0:f=1"]}, "both set f of layer 0"),
])
def test_what_the_model_cannot_take_is_one_clear_line(cell, flags, message) -> None:
    with pytest.raises(RnnTuiError, match=re.escape(message)):
        check(parse(**flags), CELLS[cell], layers=2, hidden=H)


def test_different_units_and_vectors_go_together() -> None:
    check(parse(ablate=["0:1", "0:2"], clamp=["1:1=0.3", "0:c:3=1"], freeze_gate=["0:f=1", "0:i:2=0"]),
          CELLS["lstm"], layers=2, hidden=H)


# -- inside the step functions -------------------------------------------------------------------


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("layer", [0, 1])
def test_an_ablated_unit_is_exactly_zero_at_every_step_everywhere(cell: str, layer: int) -> None:
    rec, x = _rec(cell), torch.randn(2, T, I)
    with torch.no_grad():
        plain, _ = rec(x)
        rec.intervene(parse(ablate=[f"{layer}:3"]))
        out, final = rec(x)  # forward: the step functions now, not the fused kernel
        s, outs = rec.init_state(2), []
        for x_t in x.unbind(1):  # step: incremental decoding
            h, s = rec.step(x_t, s)
            outs.append(h)
        v = _traced(rec, x[0])
    # the input projection per token or for all t at once: equal up to float rounding
    assert torch.allclose(torch.stack(outs, 1), out, atol=1e-6) and all(torch.allclose(a, b, atol=1e-6) for a, b in zip(s, final))
    assert torch.equal(s[0][layer, :, 3], torch.zeros(2)), "step by step too"
    assert torch.equal(v[f"{layer}.h"][:, 3], torch.zeros(T))
    if CELLS[cell].has_c:
        assert torch.equal(v[f"{layer}.c"][:, 3], torch.zeros(T)) and torch.equal(v[f"{layer}.tanh_c"][:, 3], torch.zeros(T))
    assert torch.equal(final[0][layer, :, 3], torch.zeros(2)), "the state carried on holds the zero"
    if layer == 1:
        assert torch.equal(out[:, :, 3], torch.zeros(2, T)), "the top layer's output (what the head reads) too"
    assert torch.allclose(v["1.h"], out[0], atol=1e-6), "the trace and the forward pass see the same intervention"
    others = [u for u in range(H) if u != 3]
    assert float((out[:, :, others] - plain[:, :, others]).abs().max()) > 1e-4, "the rest of the model felt it"
    rec.intervene(())
    with torch.no_grad():
        assert not rec.fixes and torch.equal(rec(x)[0], plain), "no intervention: the fused kernel again, as before"


@pytest.mark.parametrize("cell", ["lstm", "peephole-lstm"])
def test_clamp_holds_h_or_c_and_the_rest_follows(cell: str) -> None:
    rec, x = _rec(cell), torch.randn(T, I)
    rec.intervene(parse(clamp=["0:2=0.5", "1:c:4=-0.75"]))
    with torch.no_grad():
        v = _traced(rec, x)
    assert torch.equal(v["0.h"][:, 2], torch.full((T,), 0.5))
    assert torch.equal(v["1.c"][:, 4], torch.full((T,), -0.75))
    assert torch.equal(v["1.h"][:, 4], v["1.o"][:, 4] * math.tanh(-0.75)), "h = o ⊙ tanh(c) of the clamped c"


def test_frozen_lstm_gates_keep_the_cell_exactly() -> None:
    """f = 1 and i = 0 in every unit: c_t = 1 ⊙ c_{t−1} + 0 ⊙ g, so the cell never moves from c_0."""
    rec, x = _rec("lstm", layers=1), torch.randn(1, T, I)
    c0 = torch.randn(1, 1, H)
    rec.intervene(parse(freeze_gate=["0:f=1", "0:i=0"]))
    with torch.no_grad():
        parts, (_, c) = rec.trace(x, (torch.zeros(1, 1, H), c0))
    assert all(torch.equal(p["f"], torch.ones(H)) and torch.equal(p["c"], c0[0, 0]) for p in parts[0])
    assert torch.equal(c, c0)


def test_a_frozen_gru_update_gate_keeps_one_unit() -> None:
    """z = 1 in unit 1: h_t = (1 − 1) ⊙ n + 1 ⊙ h_{t−1} there, and only there."""
    rec, x = _rec("gru", layers=1), torch.randn(1, T, I)
    h0 = torch.randn(1, 1, H)
    rec.intervene(parse(freeze_gate=["0:z:1=1"]))
    with torch.no_grad():
        parts, _ = rec.trace(x, (h0,))
    hs = torch.stack([p["h"] for p in parts[0]])
    assert torch.equal(hs[:, 1], h0[0, 0, 1].expand(T))
    assert float((hs[:, 0] - h0[0, 0, 0]).abs().max()) > 1e-3


# -- token classes -------------------------------------------------------------------------------


def test_token_classes() -> None:
    assert [token_class(t, DEFAULT_CLASSES) for t in [")", "}", "(", "a", "Zé", "7", " ", "\n", '"', "a,", "<eos>"]] == \
        ["close", "close", "open", "letter", "letter", "digit", "space", "space", "punct", MIXED, MIXED]
    own = parse_classes(["close=)]}", "nl=\\n"])
    assert [token_class(t, own) for t in [")", "\n", "a", "]"]] == ["close", "nl", "rest", "close"]
    for bad, message in (("close", "NAME=CHARS"), ("=)", "NAME=CHARS"), ("x=", "NAME=CHARS"), ("rest=a", "taken")):
        with pytest.raises(RnnTuiError, match=message):
            parse_classes([bad])


def test_loss_change_per_class_and_the_ratio() -> None:
    tokens = ["(", "a", ")", "b", ")"]
    without = [None, -1.0, -1.0, -2.0, -1.0]
    with_ = [None, -1.5, -3.0, -2.5, -4.0]  # losses 1.5, 3, 2.5, 4: changes +0.5 (a), +2, +0.5 (b), +3
    rows = {r["name"]: r for r in loss_change(tokens, without, with_)}
    assert list(rows) == ["close", "letter", "all"]
    assert rows["close"]["tokens"] == 2 and rows["close"]["without"] == 1.0 and rows["close"]["with"] == 3.5
    assert rows["close"]["change"] == 2.5 and rows["close"]["rest_change"] == 0.5 and rows["close"]["ratio"] == 5.0
    assert rows["letter"]["ratio"] == pytest.approx(0.5 / 2.5)
    assert rows["all"]["change"] == pytest.approx(1.5) and rows["all"]["ratio"] is None
    better = {r["name"]: r for r in loss_change(tokens, with_, without)}  # the rest got better: no ratio
    assert better["close"]["ratio"] is None


# -- a trained run: score, generate, inspect -----------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    text = "".join(f"({'[' * (k % 3)}a{']' * (k % 3)}) {{b}}\n" for k in range(300))
    return train_tiny_run(root, text, "br", steps=20)


def test_the_effect_is_the_score_with_and_without(run) -> None:
    lm = load_lm(run.path)
    text = "([a]) {b}\n(a) {b}\n"
    ivs = parse(ablate=["0:5"], clamp=["0:7=0.9"])
    effect = lm.intervention_effect(text, ivs)
    assert effect["interventions"] == ["--ablate 0:5", "--clamp 0:7=0.9"] and lm.interventions == ()
    plain = lm.score(text)
    lm.intervene(ivs)
    changed = lm.score(text)
    rows = loss_change(plain["tokens"], plain["logprobs"], changed["logprobs"])
    assert effect["classes"] == rows and rows[-1]["name"] == "all"
    assert sum(r["tokens"] for r in rows[:-1]) == effect["scored"] == len(text) - 1
    assert rows[-1]["with"] == pytest.approx(changed["nll"] / changed["scored"], rel=1e-6)
    assert rows[-1]["without"] == pytest.approx(plain["nll"] / plain["scored"], rel=1e-6)
    assert abs(rows[-1]["change"]) > 1e-5

    layer = lm.inspect(text)["steps"]  # Inspect sees the intervention
    assert all(step["layers"][0]["h"][5] == 0.0 and step["layers"][0]["c"][5] == 0.0 for step in layer)
    assert all(step["layers"][0]["h"][7] == pytest.approx(0.9) for step in layer)
    with lm.intervening(()):
        assert lm.score(text)["logprobs"] == plain["logprobs"]
    assert lm.interventions == ivs


def test_generation_runs_under_the_intervention(run) -> None:
    """Greedy decoding under an ablation: each token is the argmax of the intervened model's
    forward pass over everything before it (the banned specials aside)."""
    lm = load_lm(run.path)
    lm.intervene(parse(ablate=["0:1", "0:2"], freeze_gate=["0:o:3=0"]))
    tokens = [t["id"] for t in lm.generate("([", Sampling(greedy=True, length=12))]
    ids = lm.encode("([") + tokens
    with torch.no_grad():
        logits, _ = lm.model(torch.tensor([ids[:-1]]))
    v = lm.vocab
    logits[..., [v.pad_id, v.bos_id, v.unk_id]] = float("-inf")
    assert logits[0, 1:].argmax(-1).tolist() == tokens


# -- the CLI -------------------------------------------------------------------------------------


def test_score_and_generate_commands(monkeypatch, capsys, run) -> None:
    runs = ["--runs-dir", run.path.parent]
    code, out, err = run_cli(monkeypatch, capsys, "score", "br", "([a]) {b}\n", "--ablate", "0:3", "--json", *runs)
    assert code == 0, err
    effect = json.loads(out)
    assert effect["interventions"] == ["--ablate 0:3"] and effect["classes"][-1]["name"] == "all"
    assert {r["name"] for r in effect["classes"]} == {"close", "open", "letter", "space", "all"}

    code, out, _ = run_cli(monkeypatch, capsys, "score", "br", "([a]) {b}\n", "--ablate", "0:3", "--class", "close=)]}", *runs)
    assert code == 0 and "--ablate 0:3" in out
    assert [line.split()[0] for line in out.splitlines()[2:5]] == ["close", "rest", "all"]

    args = ("generate", "br", "--prime", "(", "--length", "20", "--seed", "1", "--json", *runs)
    plain = json.loads(run_cli(monkeypatch, capsys, *args)[1])
    ablated = json.loads(run_cli(monkeypatch, capsys, *args, "--ablate", "0:0", "--ablate", "0:1", "--clamp", "0:2=1")[1])
    assert len(ablated["tokens"]) == 20 and ablated["probs"] != plain["probs"]


@pytest.mark.parametrize(("args", "message"), [
    (["score", "br", "(a)", "--ablate", "0:32"], "unit 32 is out of range"),
    (["score", "br", "(a)", "--clamp", "x"], "expected LAYER:[c:]UNIT=VALUE"),
    (["generate", "br", "--freeze-gate", "0:r=1"], "lstm cells have gates i, f, g, o"),
    (["score", "br", "(a)", "--class", "c=)"], "--class groups the change an intervention makes"),
    (["score", "br", "(a)", "--data", "builtin:brackets"], "not two of them"),
    (["score", "br", "--data", "builtin:numbers-en-zh", "--ablate", "0:1"], "numbers-en-zh"),
])
def test_command_errors_are_one_line(monkeypatch, capsys, run, args, message) -> None:
    code, _, err = run_cli(monkeypatch, capsys, *args, "--runs-dir", run.path.parent)
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and message in lines[0], err


def test_the_lab_bench_ablates_the_depth_unit_it_finds(tmp_path) -> None:
    """bench/lab.py ablate end to end on a tiny budget: the unit comes from find_units' depth
    hypothesis, the tables are the effect's, the last line the RESULT (its ratio needs the full budget)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "bench/lab.py", "ablate", "--hidden", "8", "--steps", "2", "--chars", "1000",
                          "--runs-dir", str(tmp_path)], capture_output=True, text=True, check=True).stdout
    unit = re.search(r"^depth over [\d,]+ characters: unit 0:(\d+) \((h|c)\) r = [+-]\d\.\d{3} p = ", out, re.M)
    assert unit is not None and f"--ablate 0:{unit[1]} (depth unit)" in out and "(control unit)" in out
    assert re.fullmatch(rf"RESULT depth_unit=0:{unit[1]} r=[+-]\d\.\d{{3}} close_change=[+-]\d\.\d{{3}} "
                        r"other_change=[+-]\d\.\d{3} ratio=(-?\d+\.\d|inf) control_ratio=(-?\d+\.\d|inf)",
                        out.splitlines()[-1])
