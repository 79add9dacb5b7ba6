"""The Runs pane: every run under the runs root; pick one to follow, overlay several."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from rnn_tui.runs.records import RunSummary


class RunsPane(Widget):
    BINDINGS = [
        Binding("enter", "open", "Open", id="runs.open"),
        Binding("o", "overlay", "Overlay", id="runs.overlay"),
        Binding("r", "resume", "Resume", id="runs.resume"),
    ]

    @dataclass
    class RunChosen(Message):
        run_id: str
        path: str
        how: str  # open | overlay | resume

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: list[RunSummary] = []
        self.shown: dict[str, str] = {}  # run id -> "●" (open in Train) or "+" (overlaid)

    def compose(self) -> ComposeResult:
        yield Static("Enter: open in Train · o: overlay on the current run's curves · r: resume a stopped run", id="runs-help")
        table: DataTable[str] = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("", "run", "state", "step", "best val", "model", "data")
        yield table

    def show_rows(self, rows: list[RunSummary], shown: dict[str, str] | None = None) -> None:
        """The runs, and which are on the Train tab's curves (``shown``: id -> ● open, + overlaid)."""
        shown = self.shown if shown is None else shown
        if rows == self.rows and shown == self.shown:
            return
        self.rows, self.shown = rows, dict(shown)
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            val = f"{r['val_loss']:.4f}" if r.get("val_loss") is not None else "–"
            table.add_row(shown.get(r["id"], ""), r["id"], str(r["state"]), str(r["step"]), val, r["model"],
                          r["reason"] or r["data"], key=r["path"])  # an unreadable run: why, instead of its data
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))

    def _chosen(self, how: str) -> None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return
        row = self.rows[table.cursor_row]
        if row["state"] == "unreadable":  # nothing to open or resume until its files are mended
            self.notify(f"run {row['id']} is unreadable: {row['reason']}", severity="warning")
            return
        self.post_message(self.RunChosen(row["id"], row["path"], how))

    def action_open(self) -> None:
        self._chosen("open")

    def action_overlay(self) -> None:
        self._chosen("overlay")

    def action_resume(self) -> None:
        self._chosen("resume")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._chosen("open")
