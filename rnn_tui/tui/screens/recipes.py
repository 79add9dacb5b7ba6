"""The Recipes screen: the classic experiments (rnn_tui/recipes), each with what it reproduces,
its expected result and time; enter trains the highlighted one (the app fills the Train form with
its settings and starts it)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from rnn_tui.recipes import Recipe, command_line


class RecipesScreen(ModalScreen[Recipe | None]):
    BINDINGS = [
        Binding("enter", "train", "Train it", id="recipes.train", priority=True),
        Binding("escape,f2", "cancel", "Close", id="recipes.close"),
    ]

    def __init__(self, recipes: list[Recipe]) -> None:
        super().__init__()
        self.recipes = recipes

    def compose(self) -> ComposeResult:
        with Vertical(id="recipes-box"):
            yield Label("Recipes: the classic experiments · enter trains the highlighted one · esc closes")
            yield OptionList(*[Option(Text(f"{r.name:<20} {r.title}"), id=r.name) for r in self.recipes], id="recipes-list")
            yield Static("", id="recipe-detail", markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0
        self.show(0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.recipes[event.option_index])

    def show(self, index: int) -> None:
        if not self.recipes:
            return
        r = self.recipes[index]
        data = f"your file: {r.data_help}" if r.data_help else (r.data or "none")
        expected = f"{r.expected.text()} · " if r.expected.met(0) is not None else ""
        lines = [f"reproduces: {r.reproduces}", f"data: {data} · time: ~{r.seconds:.0f} s ({r.seconds_note})",
                 f"expected: {expected}{r.expected.see}", f"measured: {r.expected.measured}",
                 *(f"$ {command_line(args)}" for args in r.commands("RUN"))]
        self.query_one("#recipe-detail", Static).update("\n".join(lines))

    def action_train(self) -> None:
        index = self.query_one(OptionList).highlighted
        self.dismiss(self.recipes[index] if index is not None and self.recipes else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
