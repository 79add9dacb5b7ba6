"""A modal directory tree for choosing a data file: enter on a file picks it, esc cancels.

Textual's DirectoryTree lists folders in its own worker threads. Hidden entries are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Label


class DataTree(DirectoryTree):
    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")]


class FilePickerScreen(ModalScreen[str | None]):
    """Returns the chosen file's path, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="file_picker.cancel"),
        Binding("f", "pick_folder", "Use this folder", id="file_picker.folder"),
    ]

    def __init__(self, start: str | Path = ".") -> None:
        super().__init__()
        start = Path(start).expanduser()
        self.start = start if start.is_dir() else start.parent if start.parent.is_dir() else Path(".")

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Label("Choose a text file, a folder of .txt or a TSV of pairs (enter picks a file, f this folder, "
                        f"esc cancels) — {self.start.resolve()}")
            yield DataTree(self.start, id="picker-tree")

    @on(DirectoryTree.FileSelected)
    def file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(str(event.path))

    def action_pick_folder(self) -> None:
        """The folder under the cursor (or holding the file under it): a folder of .txt files."""
        node = self.query_one(DataTree).cursor_node
        if node is not None and node.data is not None:
            path = node.data.path
            self.dismiss(str(path if path.is_dir() else path.parent))

    def action_cancel(self) -> None:
        self.dismiss(None)
