"""`rnn-tui translate` and the LoadedTranslator API on a small trained translator."""

import json

import pytest

from rnn_tui.api import load_run
from rnn_tui.decode.bleu import corpus_bleu
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.conftest import small_config
from tests.test_cli import run_cli
from tests.test_train_seq2seq import pairs_file, s2s_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("mt")
    cfg = s2s_config(str(pairs_file(root)), steps=150)
    train_run(RunDir.create(root / "runs", cfg, name="mt"))
    text = root / "t.txt"
    text.write_text("hello world.\n" * 200, encoding="utf-8")
    train_run(RunDir.create(root / "runs", small_config(str(text), steps=5), name="lm"))
    return root / "runs"


def test_translate_json_has_source_hypotheses_and_attention(runs, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "translate", "mt", "I have 3 cats .", "--beam", "4", "--nbest", "3",
                             "--json", "--runs-dir", runs)
    assert code == 0, err
    result = json.loads(out)
    assert result["source_tokens"] == ["I", "have", "3", "cats", "."] and result["unknown"] == []
    hyps = result["hypotheses"]
    assert len(hyps) == 3 and len({h["text"] for h in hyps}) == 3
    assert [h["score"] for h in hyps] == sorted((h["score"] for h in hyps), reverse=True)
    assert hyps[0]["text"] == "我有三只猫。"
    rows = result["attention"]  # one row per output token and <eos>, one column per source token
    assert len(rows) == len(hyps[0]["tokens"]) + 1 and all(len(r) == 5 for r in rows)
    assert all(abs(sum(r) - 1) < 1e-5 for r in rows)


def test_translate_plain_shows_nbest_and_the_attention_grid(runs, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "translate", "mt", "I have 4 dogs .", "--beam", "3", "--nbest", "2",
                           "--runs-dir", runs)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("1. 我有四只狗。") and lines[1].startswith("2. ")
    assert "attention of 1." in out and "cats" not in out and "dogs" in out and "<eos>" in out


def test_stdin_translates_line_by_line(runs, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("I have 1 cats .\n\nI have 2 dogs .\n"))
    code, out, _ = run_cli(monkeypatch, capsys, "translate", "mt", "-", "--runs-dir", runs)
    assert code == 0 and out.splitlines() == ["我有一只猫。", "我有二只狗。"]


def test_split_test_reports_bleu_equal_to_the_bleu_of_its_output(runs, monkeypatch, capsys, tmp_path):
    out_file = tmp_path / "hyp.txt"
    code, out, err = run_cli(monkeypatch, capsys, "translate", "mt", "--split", "test", "--beam", "3", "--json",
                             "--out", out_file, "--runs-dir", runs)
    assert code == 0, err
    result = json.loads(out)
    assert result["pairs"] == 20 and result["beam"] == 3
    evaluated = load_run("mt", runs).evaluate("test", beam=3)
    hyps = out_file.read_text(encoding="utf-8").splitlines()
    assert hyps == evaluated["hypotheses"]
    assert result["bleu"] == pytest.approx(corpus_bleu(hyps, evaluated["references"], tokenize="zh").score)
    assert result["exact_match"] == sum(h == r for h, r in zip(hyps, evaluated["references"])) / 20


@pytest.mark.parametrize("args, message", [
    (("translate", "lm", "hello"), "is a language model"),
    (("generate", "mt"), "is a translation run"),
    (("translate", "mt"), "give a sentence"),
    (("translate", "mt", "I have", "--split", "test"), "not both"),
    (("translate", "mt", "I have", "--beam", "2", "--nbest", "3"), "--nbest"),
    (("translate", "mt", " "), "nothing to translate"),
    (("inspect", "lm", "hello", "--target", "x"), "--target is for translation runs"),
    (("inspect", "mt", "I have => 我有", "--target", "我"), "not both"),
    (("inspect", "mt", "I have", "--layer", "1"), "--layer must be between 0 and 0"),
])
def test_translate_errors_are_one_line(runs, monkeypatch, capsys, args, message):
    code, _out, err = run_cli(monkeypatch, capsys, *args, "--runs-dir", runs)
    assert code != 0 and message in err
    assert err.count("\n") == 1 and err.startswith("rnn-tui: error:")


def test_generate_with_beam_search_gives_ranked_continuations(runs, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "generate", "lm", "--prime", "hel", "--beam", "4", "--nbest", "3",
                             "--length", "8", "--json", "--runs-dir", runs)
    assert code == 0, err
    result = json.loads(out)
    hyps = result["hypotheses"]
    assert len(hyps) == 3 and [h["score"] for h in hyps] == sorted((h["score"] for h in hyps), reverse=True)
    assert all(0 < len(h["tokens"]) <= 8 and "<unk>" not in h["tokens"] for h in hyps)
    code, out, _ = run_cli(monkeypatch, capsys, "generate", "lm", "--prime", "hel", "--beam", "2", "--nbest", "2",
                           "--length", "5", "--runs-dir", runs)
    assert code == 0 and out.startswith("1. hel") and "\n2. hel" in out


def test_inspect_a_translation_run(runs, monkeypatch, capsys):
    """`inspect --json` on a translation run: the encoder per source token, the decoder per step
    (greedy: what translate outputs), the attention; `source => target` and --target force it."""
    code, out, err = run_cli(monkeypatch, capsys, "inspect", "mt", "I have 3 cats .", "--json", "--runs-dir", runs)
    assert code == 0, err
    result = json.loads(out)
    greedy = load_run("mt", runs).translate("I have 3 cats .")["hypotheses"][0]
    assert result["task"] == "seq2seq" and result["cell"] == "gru" and result["attention_kind"] == "additive"
    assert not result["forced"] and result["translation"] == greedy["text"]
    assert result["output_tokens"] == greedy["tokens"] + ["<eos>"]
    assert [s["token"] for s in result["encoder"]["forward"]] == ["I", "have", "3", "cats", "."]
    assert result["encoder"]["backward"] is None  # this run's encoder reads one way
    assert {"h", "r", "z", "n"} <= set(result["encoder"]["forward"][0]["layers"][0])
    decoder = result["decoder"]
    assert [s["output"] for s in decoder] == result["output_tokens"] and decoder[0]["input"] == "<bos>"
    assert all(len(s["layers"][0]["h"]) == 32 and s["logprob"] <= 0 for s in decoder)
    assert len(result["attention"]) == len(decoder) and all(abs(sum(r) - 1) < 1e-4 and len(r) == 5 for r in result["attention"])

    forced = json.loads(run_cli(monkeypatch, capsys, "inspect", "mt", "I have 3 cats . => 我有三只狗。", "--json",
                                "--runs-dir", runs)[1])
    assert forced["forced"] and forced["output_tokens"] == [*list("我有三只狗。"), "<eos>"]
    option = json.loads(run_cli(monkeypatch, capsys, "inspect", "mt", "I have 3 cats .", "--target", "我有三只狗。",
                                "--json", "--runs-dir", runs)[1])
    assert option == forced

    code, out, _ = run_cli(monkeypatch, capsys, "inspect", "mt", "I have 3 cats . => 我有三只狗。", "--runs-dir", runs)
    assert code == 0
    assert "output (forced): 我有三只狗。" in out and "encoder →" in out and "encoder ←" not in out
    assert "t=0   '<bos>'  → '我'" in out and "L0 z" in out
    assert "attention (rows: output tokens, columns: source tokens" in out and "cats" in out
