"""A one-line strip of tokens with a cursor, scrolled so the cursor stays visible."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.display import visible_token

SEPARATOR = " "
MARGIN = 4
"""Cells of context kept beside the cursor when the strip scrolls."""


RGB = tuple[int, int, int]


def shade_style(rgb: RGB) -> Style:
    """A token's background of colour ``rgb``, its text black or white, whichever reads better."""
    r, g, b = rgb
    return Style(bgcolor=Color.from_rgb(r, g, b), color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white")


class TokenStrip(Widget, can_focus=True):
    """Tokens side by side; the cursor token is highlighted; click or keys move it. Each token may
    have a background shade (set_shades: e.g. one unit's value as it read the token)."""

    BINDINGS = [
        Binding("left", "cursor_left", "Prev", id="token_strip.left"),
        Binding("right", "cursor_right", "Next", id="token_strip.right"),
        Binding("home", "cursor_home", "First", show=False, id="token_strip.home"),
        Binding("end", "cursor_end", "Last", show=False, id="token_strip.end"),
    ]

    COMPONENT_CLASSES = {"token-strip--cursor", "token-strip--whitespace", "token-strip--separator"}

    DEFAULT_CSS = """
    TokenStrip {
        height: 1;
    }
    TokenStrip > .token-strip--cursor { background: $accent 60%; color: $text; text-style: bold underline; }
    TokenStrip:focus > .token-strip--cursor { background: $accent; }
    TokenStrip > .token-strip--whitespace { color: $text-muted; }
    TokenStrip > .token-strip--separator { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, init=False)
    """Index of the highlighted token."""

    @dataclass
    class CursorMoved(Message):
        """The cursor moved (keys, click, or new tokens)."""

        token_strip: TokenStrip
        index: int

        @property
        def control(self) -> TokenStrip:
            return self.token_strip

    def __init__(
        self,
        tokens: Sequence[str] = (),
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._tokens: tuple[str, ...] = ()
        self._shown: list[str] = []
        self._starts: list[int] = []
        self._widths: list[int] = []
        self._offset = 0
        self._shades: list[Style] = []
        self._layout_tokens(tokens)

    # -- data -----------------------------------------------------------------

    def _layout_tokens(self, tokens: Sequence[str]) -> None:
        self._tokens = tuple(tokens)
        self._shown = [visible_token(t) for t in self._tokens]
        self._widths = [cell_len(s) for s in self._shown]
        self._starts = []
        x = 0
        for width in self._widths:
            self._starts.append(x)
            x += width + len(SEPARATOR)

    def set_tokens(self, tokens: Sequence[str], cursor: int = 0) -> None:
        """Show `tokens` with the cursor on `cursor`; posts CursorMoved."""
        self._layout_tokens(tokens)
        self._offset = 0
        self.set_reactive(TokenStrip.cursor, self.validate_cursor(cursor))
        self._scroll_to_cursor()
        self.post_message(self.CursorMoved(self, self.cursor))
        self.refresh()

    def set_shades(self, shades: Sequence[RGB] | None) -> None:
        """A background colour per token, in token order (fewer: the rest unshaded), or None."""
        self._shades = [shade_style(rgb) for rgb in shades or ()]
        self.refresh()

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    @property
    def total_width(self) -> int:
        """Width of all tokens and separators, in cells."""
        return self._starts[-1] + self._widths[-1] if self._tokens else 0

    def token_x(self, index: int) -> int:
        """Cell where token `index` starts in the widget (after scrolling)."""
        return self._starts[index] - self._offset

    def token_at(self, x: int) -> int | None:
        """Index of the token at widget cell `x` (a separator counts as the token before)."""
        if not self._tokens or x < 0:
            return None
        return max(0, bisect_right(self._starts, x + self._offset) - 1)

    # -- cursor ---------------------------------------------------------------

    def validate_cursor(self, cursor: int) -> int:
        return max(0, min(cursor, len(self._tokens) - 1))

    def watch_cursor(self, cursor: int) -> None:
        self._scroll_to_cursor()
        self.post_message(self.CursorMoved(self, cursor))
        self.refresh()

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        """Adjust the left offset so the cursor token (with some context) is visible."""
        width = self.content_size.width
        if not self._tokens or width <= 0:
            self._offset = 0
            return
        start = self._starts[self.cursor]
        end = start + self._widths[self.cursor]
        margin = min(MARGIN, max(0, (width - (end - start)) // 2))
        if start - margin < self._offset:
            self._offset = start - margin
        elif end + margin > self._offset + width:
            self._offset = end + margin - width
        self._offset = max(0, min(self._offset, self.total_width - width))
        if start < self._offset:  # a token wider than the widget: show its start
            self._offset = start

    def action_cursor_left(self) -> None:
        self.cursor -= 1

    def action_cursor_right(self) -> None:
        self.cursor += 1

    def action_cursor_home(self) -> None:
        self.cursor = 0

    def action_cursor_end(self) -> None:
        self.cursor = len(self._tokens) - 1

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.token_at(offset.x)
        if index is not None:
            event.stop()
            self.focus()
            self.cursor = index

    # -- rendering ------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        base = self.visual_style.rich_style
        width = self.size.width
        if y != 0 or not self._tokens:
            return Strip.blank(width, base)
        self._scroll_to_cursor()  # cheap and idempotent; catches tokens set before layout
        cursor_style = self.get_component_rich_style("token-strip--cursor")
        space_style = self.get_component_rich_style("token-strip--whitespace")
        separator = Segment(SEPARATOR, self.get_component_rich_style("token-strip--separator"))
        left, right = self._offset, self._offset + width
        first = max(0, bisect_right(self._starts, left) - 1)
        segments: list[Segment] = []
        start_x = self._starts[first]
        for index in range(first, len(self._tokens)):
            if self._starts[index] >= right:
                break
            token = self._tokens[index]
            if index == self.cursor:
                style = cursor_style
            elif index < len(self._shades):
                style = base + self._shades[index]
            elif token and token.isspace():
                style = space_style
            else:
                style = base
            if segments:
                segments.append(separator)
            segments.append(Segment(self._shown[index], style))
        strip = Strip(segments)
        return strip.crop_extend(left - start_x, right - start_x, base)


__all__ = ["TokenStrip", "visible_token"]
