"""`rnn-tui units`: hypotheses computed from the text, the states read in streams, Pearson r with
circular-shift p-values, gate saturation, and the command's output and one-line errors."""

import json
import re

import pytest
import torch

from rnn_tui.api import load_lm
from rnn_tui.data.builtin import brackets
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.correlate import average_ranks, correlations, find_units, lag_shifts, stream_states
from rnn_tui.inspect.hypotheses import HYPOTHESES, signals
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.conftest import train_tiny_run
from tests.test_cli import run_cli

CODE = '( "a(" [b] ) # x(\n  s = \'it\\\'s\' """doc\nmore""" 12\n'


def test_each_hypothesis_is_the_value_after_reading_each_character():
    got = signals([*HYPOTHESES, "regex:[a-z]+"], CODE)
    rows = {name: "".join(str(int(v)) for v in values) for name, values in got.items() if name in ("depth", "quote", "comment")}
    # ( "a(" [b] ) # x(⏎  s = 'it\'s' """doc⏎more""" 12⏎
    assert rows["depth"] == "1" * 7 + "22" + "11" + "0" * (len(CODE) - 11)
    assert rows["quote"] == "".join("1" if 2 <= i <= 4 or 24 <= i <= 29 or 32 <= i <= 44 else "0" for i in range(len(CODE)))
    assert rows["comment"] == "".join("1" if 13 <= i <= 16 else "0" for i in range(len(CODE)))
    assert got["line-position"][:3] == [1, 2, 3] and got["line-position"][17] == 0 and got["line-position"][18] == 1
    assert got["indent"][17:22] == [0, 1, 2, 2, 2] and got["indent"][38:40] == [0, 0]
    assert [c for c, v in zip(CODE, got["digit"]) if v] == ["1", "2"]
    assert sum(got["space"]) == sum(c.isspace() for c in CODE)
    assert "".join(c for c, v in zip(CODE, got["regex:[a-z]+"]) if v) == "abxsitsdocmore"
    assert all(len(v) == len(CODE) for v in got.values())


def test_brackets_inside_quotes_and_comments_do_not_change_the_depth():
    text = brackets(3000)
    depth = signals(["depth"], text)["depth"]
    assert max(depth) >= 5 and min(depth) == 0
    ends = [i for i, c in enumerate(text) if c == "\n"]
    assert all(depth[i] == 0 for i in ends)  # every line of builtin:brackets closes all it opens


def test_bad_names_are_one_clear_line():
    with pytest.raises(RnnTuiError, match=r"unknown hypothesis 'nesting'; choose from depth, quote, .* or regex:PATTERN"):
        signals(["nesting"], "x")
    with pytest.raises(RnnTuiError, match=r"bad regex '\(a': missing \), unterminated subpattern"):
        signals(["regex:(a"], "x")
    with pytest.raises(RnnTuiError, match="regex: needs a pattern"):
        signals(["regex:"], "x")


def test_the_fft_null_is_the_correlation_with_each_rolled_signal():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 4, generator=g, dtype=torch.float64).cumsum(0)
    x[:, 3] = 2.0  # a constant unit: r = 0, p = 1
    s = torch.randn(300, generator=g, dtype=torch.float64).cumsum(0)
    x[:, 0] = 3 * s + 1  # exactly the signal: r = 1, and no shift reaches it
    lags = lag_shifts(300, 50)
    r, p = correlations(x, s, lags)
    direct = torch.stack([torch.corrcoef(torch.stack([x[:, u], s]))[0, 1] for u in range(3)])
    assert torch.allclose(r[:3], direct, atol=1e-12) and r[3] == 0 and p[3] == 1
    for u in range(3):
        null = torch.stack([torch.corrcoef(torch.stack([x[:, u], s.roll(-k)]))[0, 1] for k in lags])
        assert p[u] == pytest.approx((1 + int((null.abs() >= r[u].abs() - 1e-12).sum())) / (len(lags) + 1))
    assert r[0] == pytest.approx(1.0) and p[0] == pytest.approx(1 / (len(lags) + 1))
    assert len(lags) == 50 and min(lags) >= 30 and max(lags) <= 270


def test_shifts_keep_two_unrelated_slow_series_unrelated_where_shuffles_would_not():
    """Why the p-values come from shifts: two independent random walks correlate strongly by
    chance; a shuffle null calls that significant, the shift null does not."""
    g = torch.Generator().manual_seed(3)
    a, b = (torch.randn(2000, generator=g, dtype=torch.float64).cumsum(0) for _ in range(2))
    r, p = correlations(a[:, None], b, lag_shifts(2000, 199))
    shuffled = torch.stack([torch.corrcoef(torch.stack([a, b[torch.randperm(2000, generator=g)]]))[0, 1]
                            for _ in range(199)])
    assert abs(float(r[0])) > 0.3
    assert (1 + int((shuffled.abs() >= r[0].abs()).sum())) / 200 < 0.01  # shuffles: "significant"
    assert float(p[0]) > 0.01  # shifts: not


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny character-level LSTM on quote-free bracket lines, a word-level one, and a classifier."""
    from tests.test_train_classify import classify_config, reviews

    root = tmp_path_factory.mktemp("units")
    text = re.sub(r'"[^"]*"', "q", brackets(20_000))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNN_TUI_ATTACHED", "1")
        train_tiny_run(root, text, "lm", steps=3)
        train_tiny_run(root, "the cat sat on the mat .\n" * 200, "words", steps=2, tokenizer="word")
        train_run(RunDir.create(root, classify_config(str(reviews(root)), steps=2), name="cls"))
    return root


def depth_unit(loaded, unit=0):
    """Set layer 0's c[unit] to count the bracket depth: i = 1, g = +1 on an opener, −1 on a
    closer, 0 otherwise (the embedding's first dimension), f = 1 but 0 on a newline (its second),
    so c_t = depth_t on lines that close what they open, wherever the count started."""
    model = loaded.model
    H = model.rnn.hidden
    w = model.rnn.layer_weights(0)
    with torch.no_grad():
        model.embed.weight[:, 0] = 0.0
        for ch, sign in (*((c, 1.0) for c in "([{"), *((c, -1.0) for c in ")]}")):
            model.embed.weight[loaded.vocab.stoi[ch], 0] = sign
        model.embed.weight[:, 1] = 0.0
        model.embed.weight[loaded.vocab.stoi["\n"], 1] = 1.0
        for gate in range(4):
            row = gate * H + unit
            w["w_ih"][row] = 0.0
            w["w_hh"][row] = 0.0
            w["b_hh"][row] = 0.0
            w["b_ih"][row] = 40.0 if gate in (0, 1) else 0.0  # i, f: open
        w["w_ih"][2 * H + unit, 0] = 40.0  # g = tanh(±40) = ±1
        w["w_ih"][H + unit, 1] = -80.0  # f = σ(−40) = 0 on a newline


def test_a_unit_that_is_the_depth_is_found_first_with_r_1(runs, one_torch_thread):
    loaded = load_lm("lm", runs_dir=runs)
    depth_unit(loaded, unit=5)
    text = re.sub(r'"[^"]*"', "q", brackets(6000))
    report = find_units(loaded, text, ["depth", "digit"], shifts=199)
    depth, digit = report.hypotheses
    best = depth.units[0]
    assert (best.layer, best.vector, best.unit) == (0, "c", 5)
    assert best.r > 0.9999 and best.p == pytest.approx(1 / 200)
    assert depth.matched >= 1 and report.matched >= 1 and report.units == 1 * 7 * 32
    assert report.vectors == ["h", "c", "tanh_c", "i", "f", "g", "o"]
    assert digit.units == [] and digit.note == "the text has no digit variation"
    i_gate = next(g for g in report.saturation if g.gate == "i")
    assert i_gate.right[5] == 1.0 and i_gate.left[5] == 0.0  # the depth unit's input gate is always open
    assert [(g.layer, g.gate) for g in report.saturation] == [(0, "i"), (0, "f"), (0, "o")]


def test_average_ranks_share_a_tie_and_go_column_by_column():
    assert average_ranks(torch.tensor([3.0, 1.0, 3.0, 2.0, 3.0])).tolist() == [4.0, 1.0, 4.0, 2.0, 4.0]
    x = torch.tensor([[0.5, 1.0], [0.1, 1.0], [0.9, 0.0]])
    assert average_ranks(x).tolist() == [[2.0, 2.5], [1.0, 2.5], [3.0, 1.0]]


def test_rank_scores_a_unit_that_saturates_by_its_order(runs, one_torch_thread):
    """tanh(c) of the depth unit is a monotone, saturating function of the depth: Pearson's r says
    less than 1, Spearman's ρ exactly 1 (the same for c, which is the depth)."""
    loaded = load_lm("lm", runs_dir=runs)
    depth_unit(loaded, unit=5)
    text = re.sub(r'"[^"]*"', "q", brackets(6000))

    def best(rank, vector):
        return next(m for m in find_units(loaded, text, ["depth"], shifts=99, rank=rank, top=224).hypotheses[0].units
                    if (m.vector, m.unit) == (vector, 5))

    assert best(False, "tanh_c").r < 0.99 and best(True, "tanh_c").r > 0.9999 and best(True, "c").r > 0.9999
    assert best(True, "tanh_c").p == pytest.approx(1 / 100)


def test_the_streams_are_the_single_pass_trace_past_their_warm_up(runs, one_torch_thread):
    loaded = load_lm("lm", runs_dir=runs)
    depth_unit(loaded, unit=5)
    text = re.sub(r'"[^"]*"', "q", brackets(3000))[:2400]
    single = loaded.trace(text).vectors
    split = stream_states(loaded, text, streams=4, warmup=300)  # 4 streams of 600, each but the first 300 early
    for key in ("0.h", "0.c", "0.f"):
        assert split[key].shape == single[key].shape == (2400, 32)
        assert torch.allclose(split[key][:600], single[key][:600].double(), atol=1e-5)  # the first stream is exact
    # the depth unit forgets at each newline, so after a warm-up holding one it is exact in every stream
    depth = torch.tensor(signals(["depth"], text)["depth"], dtype=torch.float64)
    assert torch.allclose(split["0.c"][:, 5], depth, atol=1e-4)
    assert torch.allclose(single["0.c"][:, 5].double(), depth, atol=1e-4)


def test_the_command_prints_tables_and_json(monkeypatch, capsys, runs, one_torch_thread):
    code, out, err = run_cli(monkeypatch, capsys, "units", "lm", "--runs-dir", runs, "--top", "2", "--shifts", "99")
    assert code == 0, err
    assert re.match(r"lm: lstm, 1 × 32 units; read 1,\d\d\d characters of the validation text of .*lm\.txt\n", out)
    assert "depth:" in out and "layer  vector  unit" in out and "the text has no digit variation" in out
    assert re.search(r"\d+ of 224 units \(\d+\.\d%\) match some hypothesis \(\|r\| ≥ 0\.5, p < 0\.01\)", out)
    assert "gate saturation" in out and re.search(r"\n\s+0  f\s+\d", out)
    code, out, err = run_cli(monkeypatch, capsys, "units", "lm", "--runs-dir", runs, "--hypothesis", "depth",
                             "--hypothesis", "regex:[()]", "--data", "builtin:brackets", "--chars", "500",
                             "--top", "3", "--threads", "1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [h["name"] for h in report["hypotheses"]] == ["depth", "regex:[()]"]
    assert report["chars"] == 500 and report["text"] == "builtin:brackets" and report["units"] == 224
    assert all(len(h["units"]) == 3 for h in report["hypotheses"])
    assert report["share"] == report["matched"] / 224 and len(report["saturation"]) == 3
    assert set(report["hypotheses"][0]["units"][0]) == {"layer", "vector", "unit", "r", "p"}
    assert report["statistic"] == "pearson"
    code, out, err = run_cli(monkeypatch, capsys, "units", "lm", "--runs-dir", runs, "--hypothesis", "depth",
                             "--rank", "--shifts", "99", "--threads", "1")
    assert code == 0, err
    assert "ρ: Spearman's rank correlation" in out and "depth: " in out and "(|ρ| ≥ 0.5, p < 0.01)" in out


@pytest.mark.parametrize("args, message", [
    (["lm", "--hypothesis", "nesting"], "unknown hypothesis 'nesting'; choose from depth, quote, line-position, indent, "
                                           "comment, digit, space, or regex:PATTERN"),
    (["lm", "--hypothesis", "regex:[a"], "bad regex '[a': unterminated character set at position 0"),
    (["lm", "--chars", "50"], "--chars 50 is too few to test a correlation; give at least 200"),
    (["lm", "--data", "builtin:parity"], "builtin:parity is a labels dataset; a language model (--task lm) needs text"),
    (["lm", "--top", "0"], "--top and --shifts must be at least 1; got 0 and 999"),
    (["words"], "words reads word tokens; units needs a character-level run (the hypotheses are per character)"),
    (["cls"], "cls is a classifier; use `rnn-tui classify cls TEXT`"),
])
def test_bad_input_is_one_line(monkeypatch, capsys, runs, args, message):
    code, out, err = run_cli(monkeypatch, capsys, "units", *args, "--runs-dir", runs)
    assert code == 1 and out == "" and err.strip() == f"rnn-tui: error: {message}"


def test_a_short_text_is_refused(runs):
    with pytest.raises(RnnTuiError, match="the text has 50 characters; give at least 200"):
        find_units(load_lm("lm", runs_dir=runs), "(" * 25 + ")" * 25)


def test_the_lab_bench_trains_and_reports_a_result_line(tmp_path):
    """bench/lab.py units end to end on a tiny budget (the must-hold needs its default budget)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "bench/lab.py", "units", "--hidden", "8", "--steps", "2",
                          "--runs-dir", str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert "depth" in out and re.search(r"^RESULT depth_r=0\.\d{3} train_s=\d+ units_s=[\d.]+ must_hold=(pass|fail)$",
                                        out.splitlines()[-1])
