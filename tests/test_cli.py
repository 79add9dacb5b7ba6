"""The headless CLI: fast --help, one-line errors on every bad input, and the commands end to end."""

import json
import shutil
import subprocess
import sys

import pytest

from rnn_tui.cli import main
from rnn_tui.data.builtin import BUILTINS
from rnn_tui.data.spec import BUDGETS
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.conftest import small_config


def run_cli(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["rnn-tui", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    text = root / "text.txt"
    text.write_text("hello world, hello there.\n" * 300, encoding="utf-8")
    for name, hidden in (("a", 32), ("b", 48)):
        cfg = small_config(str(text), steps=20)
        cfg.model.hidden = hidden
        train_run(RunDir.create(root, cfg, name=name))
    return root


def test_help_imports_neither_torch_nor_textual():
    code = (
        "import sys\nfrom rnn_tui.cli import main\nsys.argv = ['rnn-tui', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'textual', 'rich', 'jieba'})\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Commands:" in out and "train" in out
    assert out.strip().endswith("HEAVY []")


def test_the_console_script_runs():
    exe = shutil.which("rnn-tui")
    assert exe, "the package is installed with its console script"
    result = subprocess.run([exe, "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--seq-len" in result.stdout and "--resume" in result.stdout


def _bad(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café au lait\n".encode("latin-1") * 5)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[model\nhidden = 3")
    return empty, latin, bad_toml


@pytest.mark.parametrize("case", [
    "bad-choice", "missing-file", "empty-file", "bad-encoding", "no-cuda", "bad-lr", "bad-toml", "missing-run",
    "resume-change", "other-model", "empty-score", "bad-layer", "bad-temperature", "unknown-builtin", "pairs-for-lm",
])
def test_every_error_is_one_line(monkeypatch, capsys, tmp_path, trained, case):
    empty, latin, bad_toml = _bad(tmp_path)
    runs = ["--runs-dir", trained]
    args = {
        "bad-choice": ["train", "--cell", "transformer"],
        "missing-file": ["train", "--data", tmp_path / "nope.txt", "--runs-dir", tmp_path],
        "empty-file": ["data", "show", empty],
        "bad-encoding": ["data", "show", latin],
        "no-cuda": ["train", "--data", "builtin:hello", "--device", "cuda", "--runs-dir", tmp_path],
        "bad-lr": ["train", "--data", "builtin:hello", "--lr", "-1", "--runs-dir", tmp_path],
        "bad-toml": ["train", "--config", bad_toml],
        "missing-run": ["generate", "nope", *runs],
        "resume-change": ["train", "--resume", "a", "--hidden", "64", *runs],
        "other-model": ["train", "--resume", "b", "--steps", "30", *runs],
        "empty-score": ["score", "a", "  ", *runs],
        "bad-layer": ["inspect", "a", "hello", "--layer", "3", *runs],
        "bad-temperature": ["generate", "a", "--temperature", "0", *runs],
        "unknown-builtin": ["data", "show", "builtin:nope"],
        "pairs-for-lm": ["train", "--data", "builtin:numbers-en-zh", "--task", "lm", "--runs-dir", tmp_path],
    }[case]
    if case == "other-model":  # a checkpoint file copied in from a run of another size, then resumed
        b = RunDir.open("b", trained).checkpoints
        keep = (b / "latest.safetensors").read_bytes()
        shutil.copy(RunDir.open("a", trained).checkpoints / "latest.safetensors", b / "latest.safetensors")
    try:
        code, _out, err = run_cli(monkeypatch, capsys, *args)
    finally:
        if case == "other-model":
            (b / "latest.safetensors").write_bytes(keep)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rnn-tui: error: ") and "Traceback" not in err
    expected = {
        "bad-choice": "transformer", "missing-file": "no such file", "empty-file": "empty", "bad-encoding": "byte",
        "no-cuda": "--device cuda", "bad-lr": "--lr", "bad-toml": "TOML", "missing-run": "no run 'nope'",
        "resume-change": "cannot change --hidden", "other-model": "does not fit this model",
        "empty-score": "empty", "bad-layer": "--layer", "bad-temperature": "--temperature", "unknown-builtin": "nope",
        "pairs-for-lm": "pairs dataset",
    }[case]
    assert expected in lines[0]
    assert not list(tmp_path.glob("*/config.toml")), "a refused command leaves no run directory behind"


def test_commands_end_to_end(monkeypatch, capsys, trained):
    runs = ["--runs-dir", trained]
    args = ("generate", "a", "--prime", "hello", "--length", "15", "--seed", "3", "--json", *runs)
    code, out, _ = run_cli(monkeypatch, capsys, *args)
    assert code == 0
    gen = json.loads(out)
    assert len(gen["tokens"]) == 15 and all(0 < p <= 1 for p in gen["probs"]) and gen["text"] == "".join(gen["tokens"])
    again = json.loads(run_cli(monkeypatch, capsys, *args)[1])
    assert again["tokens"] == gen["tokens"], "a seed makes sampling reproducible"

    score = json.loads(run_cli(monkeypatch, capsys, "score", "a", "hello world", "--json", *runs)[1])
    assert score["tokens"] == list("hello world") and score["scored"] == 10
    assert score["nll"] == pytest.approx(-sum(score["logprobs"][1:]))
    assert score["bpt"] == pytest.approx(score["nll"] / 10 / 0.6931471805599453)

    insp = json.loads(run_cli(monkeypatch, capsys, "inspect", "a", "hello", "--json", *runs)[1])
    assert insp["cell"] == "lstm" and insp["tokens"] == list("hello")
    first = insp["steps"][0]["layers"][0]
    assert {"h", "c", "i", "f", "g", "o"} <= set(first) and len(first["h"]) == 32
    assert insp["steps"][0]["next_token"] == "e" and insp["steps"][0]["next_logprob"] < 0
    assert abs(sum(t["prob"] for t in insp["steps"][0]["topk"])) <= 1.0001

    listing = json.loads(run_cli(monkeypatch, capsys, "runs", "--json", *runs)[1])
    assert {r["id"]: r["state"] for r in listing} == {"a": "finished", "b": "finished"}

    code, out, _ = run_cli(monkeypatch, capsys, "runs", *runs)
    assert code == 0 and "finished" in out


def test_train_json_lines_end_with_the_run(monkeypatch, capsys, tmp_path, text_file):
    code, out, _ = run_cli(monkeypatch, capsys, "train", "--data", text_file, "--hidden", "16", "--embed", "8", "--steps", "10",
                           "--batch", "4", "--seq-len", "16", "--log-interval", "5", "--eval-interval", "10",
                           "--threads", "1", "--runs-dir", tmp_path, "--name", "j", "--json")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "end"
    assert events[-1]["path"].endswith("j") and events[-1]["val_loss"] > 0
    code, out, _ = run_cli(monkeypatch, capsys, "train", "--resume", "j", "--steps", "20", "--runs-dir", tmp_path, "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["step"] == 20


def test_app_with_a_bad_dataset_is_one_line(monkeypatch, capsys):
    code, _out, err = run_cli(monkeypatch, capsys, "app", "--data", "builtin:nope")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "nope" in err


def test_data_get_downloads_over_http_and_refuses_a_bad_checksum(monkeypatch, capsys, tmp_path):
    from tests.test_download import Server

    monkeypatch.setenv("RNN_TUI_CACHE", str(tmp_path / "cache"))
    server = Server()
    try:
        server.files["/tm.txt"] = b"not the time machine\n"
        code, _out, err = run_cli(monkeypatch, capsys, "data", "get", "timemachine", "--url", f"{server.url}/tm.txt")
        assert code == 1 and len(err.strip().splitlines()) == 1 and "checksum" in err
        assert not list((tmp_path / "cache").rglob("*.txt")), "a file that failed its checksum is not kept"
        assert server.requests == ["/tm.txt"]
    finally:
        server.close()


def test_runs_dir_from_the_environment(monkeypatch, capsys, tmp_path, text_file):
    monkeypatch.setenv("RNN_TUI_RUNS", str(tmp_path / "elsewhere"))
    code, _out, _ = run_cli(monkeypatch, capsys, "train", "--data", text_file, "--hidden", "8", "--embed", "4", "--steps", "3",
                           "--batch", "2", "--seq-len", "8", "--threads", "1", "--name", "env", "--json")
    assert code == 0 and (tmp_path / "elsewhere" / "env" / "config.toml").is_file()
    assert json.loads(run_cli(monkeypatch, capsys, "runs", "--json")[1])[0]["id"] == "env"


def test_text_output_prints_brackets_literally(monkeypatch, capsys, trained):
    code, out, _ = run_cli(monkeypatch, capsys, "inspect", "a", "[b]", "--runs-dir", trained)
    assert code == 0
    assert "[pre_i, pre_f, pre_g, pre_o] = W_ih x_t" in out  # not eaten as Rich markup
    assert "'<unk>'" in out  # '[' is not in this run's vocabulary: shown as <unk>, literally


@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_builtin_trains_with_no_other_flag(monkeypatch, capsys, tmp_path, name):
    """`rnn-tui train --data builtin:NAME` (here with a 3-step budget): its recommended task,
    model and budget, the flags given winning."""
    code, out, err = run_cli(monkeypatch, capsys, "train", "--data", f"builtin:{name}", "--steps", "3", "--threads", "1",
                             "--runs-dir", tmp_path, "--name", "r", "--json")
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])["state"] == "finished"
    cfg = RunDir.open("r", tmp_path).config()
    recommended = BUILTINS[name].recommended
    assert cfg.task == recommended["task"] and cfg.train.steps == 3 and cfg.train.threads == 1
    assert cfg.train.time == 0 and cfg.train.epochs == 0  # a budget given: no recommended one beside it to cut it short
    assert cfg.values() == {**cfg.values(), **{k: v for k, v in recommended.items() if k not in ("task", *BUDGETS)}}


def test_flags_and_a_config_file_win_over_a_builtins_recommended_settings(monkeypatch, capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[model]\nhidden = 12\n[train]\nsteps = 2\nthreads = 1\n', encoding="utf-8")
    code, _out, err = run_cli(monkeypatch, capsys, "train", "--config", config, "--data", "builtin:hello", "--cell", "gru",
                              "--runs-dir", tmp_path, "--name", "r", "--json")
    assert code == 0, err
    cfg = RunDir.open("r", tmp_path).config()
    assert (cfg.model.cell, cfg.model.hidden, cfg.train.steps) == ("gru", 12, 2)  # given
    assert (cfg.model.embed, cfg.train.seq_len, cfg.task) == (0, 12, "lm")  # recommended for hello


def test_a_small_file_trains_with_a_note_and_explicit_flags_are_refused(monkeypatch, capsys, tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("the quick brown fox jumps over the lazy dog. " * 20, encoding="utf-8")
    common = ["train", "--data", tiny, "--hidden", "8", "--steps", "2", "--threads", "1", "--runs-dir", tmp_path]
    code, _out, err = run_cli(monkeypatch, capsys, *common, "--name", "fit")
    assert code == 0, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == ["note: 810 training tokens are too few for batch 32 × BPTT length 100; using --batch 32 → 9, "
                     "--seq-len 100 → 89 (give them to choose)"]
    assert (RunDir.open("fit", tmp_path).config().train.batch, RunDir.open("fit", tmp_path).config().train.seq_len) == (9, 89)
    code, _out, err = run_cli(monkeypatch, capsys, *common, "--batch", "32", "--seq-len", "100", "--name", "no")
    assert code == 1 and err.strip() == ("rnn-tui: error: dataset too small: 810 tokens for batch 32 × seq-len 100; lower "
                                         "--batch or --seq-len")


def test_runs_never_cuts_the_run_id_or_a_number_at_80_columns(monkeypatch, tmp_path):
    import io

    from rich.console import Console

    from rnn_tui import cli_report
    from rnn_tui.runs.rundir import list_runs

    name = "20261129-214455-lstm-python-stdlib"
    RunDir.create(tmp_path, small_config("builtin:python-stdlib"), name=name)
    for width in (80, 140):
        console = Console(width=width, record=True, file=io.StringIO())
        monkeypatch.setattr(cli_report, "console", console)
        cli_report.print_runs([r.summary() for r in list_runs(tmp_path)], tmp_path)
        lines = console.export_text().splitlines()
        assert max(map(len, lines)) <= width
        if width == 80:  # too narrow for every column: no epoch, the data on a line of its own
            assert lines[0].split() == ["run", "state", "step", "best", "val", "model"]
            assert lines[1].split() == [name, "starting", "0", "–", "lstm", "1x32"]
            assert lines[2].strip() == "builtin:python-stdlib (char)"
        else:
            assert "epoch" in lines[0] and name in lines[2] and "builtin:python-stdlib (char)" in lines[2]


def test_the_training_progress_line_keeps_the_run_id_and_the_step_at_80_columns(monkeypatch, tmp_path):
    import io

    from rich.console import Console

    from rnn_tui import cli_report

    name = "shakespeare-20261130-205704"
    run = RunDir.create(tmp_path, small_config("builtin:python-stdlib"), name=name)
    console = Console(width=80, record=True, file=io.StringIO())
    monkeypatch.setattr(cli_report, "err_console", console)
    with cli_report.train_reporter(run, as_json=False) as show:
        show({"event": "start", "task": "lm", "params": 1000, "vocab": 65, "train_tokens": 9000, "device": "cpu",
              "threads": 1})
        show({"event": "train", "step": 1234, "progress": 0.25, "loss": 1.5, "ppl": 4.48, "tokens_per_s": 16000.0})
        show({"event": "val", "step": 1234, "val_loss": 1.4, "val_ppl": 4.06, "val_bpt": 2.02, "best": True})
    bar = [line for line in console.export_text().splitlines() if "step 1234 ·" in line]
    assert len(bar) == 1 and name in bar[0] and len(bar[0]) <= 80, bar


@pytest.mark.parametrize("tty", [True, False])
def test_a_report_wraps_its_prose_at_the_terminal_width_and_keeps_table_rows(monkeypatch, capsys, tty):
    """`units` and `score --ablate` print through echo_report: on a 40-column terminal a prose line
    breaks between words (never inside one) and a table row stays whole; piped, nothing wraps."""
    from rnn_tui.cli_options import echo_report

    prose = "searched h, c, tanh_c, i, f, g, o of every layer: 1,792 units; p from 999 circular shifts"
    row = "      0  tanh_c     21   -0.634   0.0010   and a row longer than the terminal"
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    echo_report([prose, row, "short"])
    lines = capsys.readouterr().out.splitlines()
    if not tty:
        assert lines == [prose, row, "short"]
        return
    assert lines[-2:] == [row, "short"]
    wrapped = lines[:-2]
    assert len(wrapped) > 1 and all(len(line) <= 40 for line in wrapped)
    assert all(line.startswith("  ") for line in wrapped[1:])
    assert " ".join(line.strip() for line in wrapped) == prose  # every word whole, in order
