"""The Data tab: path completion, the file picker, a preview of a real file, a bad file."""

import os

from textual.widgets import DirectoryTree, Input

from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.screens.file_picker import FilePickerScreen
from rnn_tui.tui.widgets.path_suggester import complete_path
from tests.conftest import wait_for


def make_tree(tmp_path):
    (tmp_path / "corpora").mkdir()
    (tmp_path / "corpora" / "poems.txt").write_text("床前明月光\n疑是地上霜\n" * 50, encoding="utf-8")
    (tmp_path / "corpora" / "prose.txt").write_text("the cat sat on the mat.\n" * 50, encoding="utf-8")
    (tmp_path / "corpora" / ".hidden.txt").write_text("x", encoding="utf-8")
    (tmp_path / "corpora" / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1") * 20)
    return tmp_path / "corpora"


def test_complete_path(tmp_path, monkeypatch):
    folder = make_tree(tmp_path)
    base = str(tmp_path) + os.sep
    assert complete_path(base + "cor") == base + "corpora" + os.sep  # folders end in "/"
    assert complete_path(str(folder / "po")) == str(folder / "poems.txt")
    assert complete_path(str(folder / "p")) == str(folder / "poems.txt")  # the first in order
    assert complete_path(str(folder / "poems.txt")) is None  # nothing more to add
    assert complete_path(str(folder / "zz")) is None
    assert complete_path(str(folder / ".h")) == str(folder / ".hidden.txt")  # hidden only when asked
    assert complete_path(str(folder) + os.sep) == str(folder / "latin1.txt")
    assert complete_path(str(tmp_path / "missing" / "x")) is None
    monkeypatch.setenv("HOME", str(folder))
    assert complete_path("~/pr") == "~/prose.txt"  # ~ is expanded for the lookup, kept in the completion


async def accept_completion(pilot, field: Input, expected: str, seconds: float = 10.0) -> bool:
    """Press → at the end of ``field`` until it accepts a completion: the suggestion is looked up
    in a thread, and before it arrives → does nothing. True when the field then reads ``expected``."""
    typed = field.value
    for _ in range(int(seconds / 0.05)):
        await pilot.press("right")
        if field.value != typed:
            return field.value == expected
        await pilot.pause(0.05)
    return False


async def test_typing_a_path_completes_and_previews(tmp_path):
    folder = make_tree(tmp_path)
    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("1")
        path_input = app.query_one("#d-path", Input)
        path_input.focus()
        await pilot.press(*str(folder / "pr"))
        assert await accept_completion(pilot, path_input, str(folder / "prose.txt"))
        await pilot.press("ctrl+r")
        preview = app.query_one("#data-preview")
        assert await wait_for(pilot, lambda: "prose.txt" in str(preview.render()))
        assert "vocabulary" in str(preview.render())


async def test_browse_picks_a_file_and_a_bad_file_shows_one_line(tmp_path):
    folder = make_tree(tmp_path)
    app = RnnTuiApp(tmp_path / "runs")
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.press("1")
        app.query_one("#d-path", Input).value = str(folder) + os.sep
        app.query_one("#d-builtin").focus()
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, FilePickerScreen)
        tree = app.screen.query_one(DirectoryTree)
        assert await wait_for(pilot, lambda: tree.root.children and len(tree.root.children) == 3)
        names = [node.data.path.name for node in tree.root.children]
        assert ".hidden.txt" not in names  # hidden entries are left out
        tree.focus()
        target = names.index("latin1.txt")
        await pilot.press(*["down"] * (target + 1), "enter")  # the cursor starts on the root
        assert not isinstance(app.screen, FilePickerScreen)
        assert app.query_one("#d-path", Input).value == str(folder / "latin1.txt")
        error = app.query_one("#data-error")
        assert await wait_for(pilot, lambda: "latin1.txt" in str(error.render()))
        message = str(error.render())
        assert "\n" not in message.strip() and "--encoding" in message  # one line, says what to do

        # esc cancels and keeps the path; f picks the folder of .txt files
        await pilot.press("ctrl+o")
        await pilot.press("escape")
        assert app.query_one("#d-path", Input).value == str(folder / "latin1.txt")
        await pilot.press("ctrl+o")
        tree = app.screen.query_one(DirectoryTree)
        assert await wait_for(pilot, lambda: tree.root.children)
        tree.focus()
        await pilot.press("f")
        assert app.query_one("#d-path", Input).value == str(folder)
