"""`rnn-tui gradients` end to end on tiny runs trained here: the language model's own loss at the
last step, the by-hand account equal to the measured curve, the other tasks' readout, and one
clear line for every bad input."""

import json

import pytest
import torch

from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.conftest import small_config
from tests.test_cli import run_cli
from tests.test_forecast import forecast_config, monthly
from tests.test_train_classify import classify_config, reviews

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXT = "one (two [three] four) five; six (seven) eight.\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("grad")
    text = root / "text.txt"
    text.write_text(TEXT * 120, encoding="utf-8")
    lm = small_config(str(text), steps=10)
    gru2 = small_config(str(text), steps=10)
    gru2.model.cell, gru2.model.layers, gru2.model.hidden = "gru", 2, 16
    for name, cfg in (("lm", lm), ("gru2", gru2), ("cls", classify_config(str(reviews(root)), steps=10)),
                      ("fc", forecast_config(str(monthly(root)), steps=10))):
        train_run(RunDir.create(root / "runs", cfg.validate(), name=name))
    return root / "runs"


def gradients(monkeypatch, capsys, runs, *args):
    code, out, err = run_cli(monkeypatch, capsys, "gradients", *args, "--runs-dir", runs)
    return code, out, err


def test_a_language_model_takes_its_own_loss_at_the_last_step(monkeypatch, capsys, runs):
    from rnn_tui.api import load_lm

    code, out, err = gradients(monkeypatch, capsys, runs, "lm", TEXT, "--steps", "20", "--sequences", "1", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["run"] == "lm" and r["steps"] == 20 and r["sequences"] == 1 and "own loss" in r["loss"]
    assert len(r["norms"]) == 20 and r["decay"]["mean"][0] == pytest.approx(1.0)
    assert [row["d"] for row in r["table"]] == [1, 2, 5, 10, 19]
    # ‖∂L_T/∂h_T‖ of the cross-entropy at the last step: W_outᵀ (softmax(W_out h_T + b) − onehot(x_{T+1}))
    model = load_lm("lm", runs_dir=runs).model.double()
    ids = load_lm("lm", runs_dir=runs).encode(TEXT)[:21]
    with torch.no_grad():
        h, state = None, model.init_state(1)
        for i in ids[:20]:
            h, state = model.rnn.step(model._input(torch.tensor([i])), state)
        p = torch.softmax(model.head(h)[0], -1)
        p[ids[20]] -= 1
        assert r["norms"][-1] == pytest.approx((model.head.weight.T @ p).norm().item(), rel=1e-6)


def test_windows_of_data_or_of_the_validation_text_and_the_text_table(monkeypatch, capsys, runs, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("(a [b] c) " * 40, encoding="utf-8")
    code, out, _ = gradients(monkeypatch, capsys, runs, "lm", "--data", str(other), "--steps", "30", "--sequences", "5",
                             "--json")
    r = json.loads(out)
    assert code == 0 and r["sequences"] == 5 and r["steps"] == 30 and str(other) in r["source"]
    code, out, _ = gradients(monkeypatch, capsys, runs, "lm", "--steps", "12", "--sequences", "3")
    lines = out.splitlines()
    assert code == 0 and "validation text" in lines[0] and lines[1].startswith("loss: L_T = −log p")
    assert [line.split()[0] for line in lines[3:8]] == ["1", "2", "5", "10", "11"]
    assert lines[-1].startswith("after 11 steps back the gradient is")


def test_the_step_by_step_account_is_the_measured_curve_for_a_two_layer_gru(monkeypatch, capsys, runs):
    code, out, err = gradients(monkeypatch, capsys, runs, "gru2", TEXT, "--steps", "8", "--sequences", "1", "--bptt", "--json")
    assert code == 0, err
    r = json.loads(out)
    rows = r["bptt"]["rows"]
    assert [row["k"] for row in rows] == list(range(8, 0, -1))
    by_hand = [row["delta"] for row in rows][::-1]  # k = 1..8, one sequence: the means are the values
    assert by_hand == pytest.approx(r["norms"], rel=1e-5)
    assert r["bptt"]["factors"] == ["keep", "direct", "matrix"] and all(0 < row["keep"] < 1 for row in rows)
    code, out, _ = gradients(monkeypatch, capsys, runs, "gru2", TEXT, "--steps", "4", "--bptt")
    assert "BPTT by hand (gru, top layer)" in out and "δ_{k−1} = z ⊙ δ_k" in out


def test_a_classifier_and_a_forecaster_use_a_fixed_unit_readout(monkeypatch, capsys, runs):
    code, out, err = gradients(monkeypatch, capsys, runs, "cls", "great fun and a lazy dog", "--json")
    r = json.loads(out)
    assert code == 0 and r["loss"].startswith("L_T = uᵀh_T") and r["steps"] == len(r["norms"]) >= 5
    assert r["norms"][-1] == pytest.approx(1.0)  # ∂(uᵀh_T)/∂h_T = u, a unit vector
    code, out, err = gradients(monkeypatch, capsys, runs, "cls")
    assert code == 1 and "give cls a TEXT" in err and len(err.splitlines()) == 1
    code, out, err = gradients(monkeypatch, capsys, runs, "fc", "--sequences", "4", "--json")
    r = json.loads(out)
    assert code == 0, err
    assert r["steps"] == 12 and r["sequences"] == 4 and "windows of the validation part" in r["source"]
    code, out, err = gradients(monkeypatch, capsys, runs, "fc", "some text")
    assert code == 1 and "forecaster" in err


@pytest.mark.parametrize(("args", "message"), [
    (["nosuchrun"], "no run 'nosuchrun'"),
    (["lm", "   "], "the text is empty"),
    (["--cell", "transformer"], "unknown cell 'transformer'"),
    (["lm", "--hidden", "8"], "--hidden describe a fresh cell"),
    (["--cell", "lstm", "lm"], "--cell reads random"),
    ([], "give a RUN, or --cell"),
    (["lm", "x"], "fewer than 2 tokens"),
    (["--cell", "peephole-lstm", "--steps", "3", "--bptt"], "BPTT by hand is written out for"),
    (["--cell", "rnn", "--steps", "0"], "--steps must be at least 1"),
])
def test_bad_input_is_one_clear_line(monkeypatch, capsys, runs, args, message):
    code, out, err = gradients(monkeypatch, capsys, runs, *args)
    assert code != 0 and out == ""
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_fresh_lstm_with_forget_bias_1_keeps_far_more_than_with_0(monkeypatch, capsys, runs):
    ratios = {}
    for bias in ("0", "1"):
        code, out, _ = gradients(monkeypatch, capsys, runs, "--cell", "lstm", "--forget-bias", bias, "--steps", "51",
                                 "--sequences", "4", "--json")
        r = json.loads(out)
        assert code == 0 and r["forget_bias"] == float(bias) and r["hidden"] == 64
        ratios[bias] = r["decay"]["mean"][50]
    assert ratios["1"] >= 1000 * ratios["0"]
