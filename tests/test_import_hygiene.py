"""The core never imports Textual or Rich (harlequin's rule); checked in fresh interpreters."""

import pkgutil
import subprocess
import sys

import rnn_tui

UI_MODULES = {"rnn_tui.cli", "rnn_tui.cli_report", "rnn_tui.__main__"}


def core_modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(rnn_tui.__path__, "rnn_tui.")]
    return sorted(n for n in names if n not in UI_MODULES and not n.startswith("rnn_tui.tui"))


def test_core_modules_are_found():
    mods = core_modules()
    assert "rnn_tui.models.cells" in mods and "rnn_tui.train.trainer" in mods and "rnn_tui.api" in mods


def test_no_core_module_imports_textual_or_rich():
    code = (
        "import importlib, sys\n"
        "bad = []\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    leaked = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'rich'})\n"
        "    if leaked:\n"
        "        bad.append((name, leaked)); break\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_app_module_does_not_import_torch():
    """The first frame must not wait for torch (~1.6 s): the app imports it in a worker."""
    code = "import sys, rnn_tui.tui.app; print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'jieba'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
