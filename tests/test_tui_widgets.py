"""The small TUI widgets: heatmap, legend, line plot, token strip (Pilot, real widgets)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path

from rich.cells import cell_len
from rich.color import ColorSystem
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widget import Widget

from rnn_tui.tui.palette import DIVERGING, LEVELS, NAN_RGB, SEQUENTIAL, color_at, level_rgb
from rnn_tui.tui.widgets.heatmap import HeatLegend, Heatmap
from rnn_tui.tui.widgets.plot import BRAILLE_BASE, LinePlot, Series, downsample
from rnn_tui.tui.widgets.token_strip import TokenStrip

NAN = float("nan")


class WidgetApp(App):
    """A bare app holding the widgets under test and recording their messages."""

    def __init__(self, *widgets: Widget, css: str = "") -> None:
        self.CSS = css
        super().__init__()
        self._widgets = widgets
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield from self._widgets

    def on_heatmap_cell_clicked(self, message: Heatmap.CellClicked) -> None:
        self.messages.append(message)

    def on_token_strip_cursor_moved(self, message: TokenStrip.CursorMoved) -> None:
        self.messages.append(message)


def run_app(app: WidgetApp, body: Callable, size: tuple[int, int] = (60, 20)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await body(pilot)

    asyncio.run(main())


def rgb(color) -> tuple[int, int, int]:
    return tuple(color.get_truecolor())


# -- palette ------------------------------------------------------------------


def test_palette_ends_middle_nan_and_256_colours():
    assert level_rgb(DIVERGING, LEVELS // 2) == (247, 247, 247)  # white exactly at 0
    assert rgb(color_at(DIVERGING, 0.0)) == DIVERGING[0]
    assert rgb(color_at(DIVERGING, 1.0)) == DIVERGING[-1]
    assert rgb(color_at(SEQUENTIAL, 2.0)) == SEQUENTIAL[-1]  # clamped
    assert rgb(color_at(SEQUENTIAL, NAN)) == NAN_RGB
    for scale in (DIVERGING, SEQUENTIAL):
        levels = [color_at(scale, i / (LEVELS - 1)) for i in range(LEVELS)]
        assert len({c.triplet for c in levels}) == LEVELS
        eight_bit = [c.downgrade(ColorSystem.EIGHT_BIT).number for c in levels]
        assert len(set(eight_bit)) >= 10  # still a readable gradient over SSH
    # over 256 colours negative and positive values never share a colour
    neg = {color_at(DIVERGING, i / 32).downgrade(ColorSystem.EIGHT_BIT).number for i in range(15)}
    pos = {color_at(DIVERGING, 1 - i / 32).downgrade(ColorSystem.EIGHT_BIT).number for i in range(15)}
    assert not neg & pos


# -- heatmap ------------------------------------------------------------------


def cells(strip, skip: int) -> list[tuple[str, object]]:
    """(character, style) per cell of a strip, after `skip` gutter cells."""
    out = []
    for text, style, _ in strip:
        out += [(char, style) for char in text]
    return out[skip:]


def test_heatmap_half_blocks_map_rows_to_fg_bg_and_nan_is_grey():
    heatmap = Heatmap()
    app = WidgetApp(heatmap)

    async def body(pilot):
        heatmap.set_data([[-1.0, 0.5], [1.0, 0.0], [NAN, 0.25]])
        assert (heatmap.kind, heatmap.vmin, heatmap.vmax) == ("diverging", -1.0, 1.0)
        gutter = heatmap.gutter_width
        (char, style), (_, style2) = cells(heatmap.render_line(1), gutter)[:2]
        assert char == "▀"
        assert rgb(style.color) == rgb(color_at(DIVERGING, 0.0))  # row 0, value -1
        assert rgb(style.bgcolor) == rgb(color_at(DIVERGING, 1.0))  # row 1, value +1
        assert rgb(style2.color) == rgb(color_at(DIVERGING, 0.75))  # row 0, value 0.5
        assert rgb(style2.bgcolor) == (247, 247, 247)  # row 1, value 0: white
        last = cells(heatmap.render_line(2), gutter)[0][1]
        assert rgb(last.color) == NAN_RGB  # row 2, NaN

    run_app(app, body)


def test_heatmap_sequential_range_and_widening():
    heatmap = Heatmap()
    app = WidgetApp(heatmap)

    async def body(pilot):
        heatmap.set_data([[0.0, 0.5], [1.0, 0.25]], kind="sequential")
        assert (heatmap.vmin, heatmap.vmax) == (0.0, 1.0)
        heatmap.set_data([[3.0, -0.5]])  # a cell state beyond tanh range: symmetric ±3
        assert (heatmap.vmin, heatmap.vmax) == (-3.0, 3.0)
        heatmap.set_data([[3.0]], vmin=-2, vmax=2)
        assert (heatmap.vmin, heatmap.vmax) == (-2.0, 2.0)

    run_app(app, body)


def test_heatmap_cursor_column_and_selected_row_are_marked():
    heatmap = Heatmap(col_width=2)
    app = WidgetApp(heatmap)

    async def body(pilot):
        heatmap.set_data([[0.1] * 6 for _ in range(6)], row_labels=[f"u{i}" for i in range(6)])
        gutter = heatmap.gutter_width
        assert gutter == 3  # "u5" + marker
        assert "▼" not in heatmap.render_line(0).text
        heatmap.cursor_col = 4
        header = heatmap.render_line(0).text
        assert header.index("▼") == gutter + 4 * 2
        heatmap.selected_row = 3  # lower half of data line 1 (screen line 2)
        line = heatmap.render_line(2).text
        assert line.startswith("u3▄")
        assert heatmap.render_line(1).text.startswith("u0 ")

    run_app(app, body)


def test_heatmap_click_posts_cell_and_big_matrix_scrolls_to_selection():
    heatmap = Heatmap(col_width=2)
    app = WidgetApp(heatmap, css="Heatmap { height: 10; }")

    async def body(pilot):
        heatmap.set_data([[math.sin(r + c) for c in range(200)] for r in range(512)])
        gutter = heatmap.gutter_width
        await pilot.click(Heatmap, offset=(gutter + 3 * 2 + 1, 1 + 2))
        await pilot.pause()
        clicks = [m for m in app.messages if isinstance(m, Heatmap.CellClicked)]
        assert [(m.row, m.col) for m in clicks] == [(4, 3)]
        heatmap.selected_row = 401
        await pilot.pause()
        lines = [heatmap.render_line(y).text for y in range(heatmap.size.height)]
        assert any(line.startswith("▄") for line in lines)  # the marker is on screen

    run_app(app, body)


def test_heat_legend_shows_range_numbers():
    legend = HeatLegend()
    app = WidgetApp(legend)

    async def body(pilot):
        text = legend.render_line(0).text
        assert text.startswith("−1.00") and text.rstrip().endswith("1.00") and " 0 " in text
        legend.set_range("sequential", 0.0, 1.0)
        text = legend.render_line(0).text
        assert text.startswith("0 ") and " 0.50 " in text

    run_app(app, body)


# -- line plot ----------------------------------------------------------------


def test_line_plot_two_series_legend_and_colours():
    plot = LinePlot("loss")
    app = WidgetApp(plot, css="LinePlot { height: 12; }")

    async def body(pilot):
        xs = tuple(float(i) for i in range(50))
        plot.set_series(
            [
                Series("train", xs, tuple(3 - i * 0.05 for i in range(50)), "#4ea1ff"),
                Series("val", xs[::5], tuple(3.2 - i * 0.25 for i in range(10)), "#ff9e3b"),
            ]
        )
        lines = [plot.render_line(y) for y in range(12)]
        legend = lines[0].text
        assert legend.startswith("loss") and "train 0.55" in legend and "val 0.95" in legend
        assert lines[1].text.lstrip().startswith("3.2┤")  # top tick = max
        assert lines[-1].text.strip().startswith("└0") and lines[-1].text.rstrip().endswith("49")
        drawn = {
            str(style.color.name)
            for strip in lines[1:-1]
            for text, style, _ in strip
            if any(ord(ch) > BRAILLE_BASE for ch in text)
        }
        assert {"#4ea1ff", "#ff9e3b"} <= drawn

    run_app(app, body)


def test_line_plot_legend_wraps_instead_of_hiding_series():
    plot = LinePlot("loss")
    app = WidgetApp(plot, css="LinePlot { height: 12; width: 60; }")

    async def body(pilot):
        xs = tuple(float(i) for i in range(20))
        names = ["train", "val", "gru-256 train", "gru-256 val", "rnn-256 train", "rnn-256 val"]
        plot.set_series([Series(n, xs, tuple(3 - i * 0.1 - k * 0.01 for i in range(20)), "#4ea1ff")
                         for k, n in enumerate(names)])
        lines = [plot.render_line(y).text for y in range(12)]
        legend = "".join(lines[:3])
        assert all(f"━ {n} " in legend for n in names)  # every entry shown, none split
        assert all(len(line.rstrip()) <= 60 for line in lines)
        first_tick = next(k for k, line in enumerate(lines) if "┤" in line)
        assert lines[first_tick].lstrip().startswith("3┤") and first_tick == 2  # the plot starts below the legend
        assert lines[-1].strip().startswith("└0")

    run_app(app, body)


def test_downsample_keeps_spikes_and_plot_draws_few_points():
    xs = [float(i) for i in range(10_000)]
    ys = [1.0 + 0.001 * (i % 7) for i in range(10_000)]
    ys[6_543] = 50.0
    dx, dy = downsample(xs, ys, 100)
    assert len(dx) <= 2 * 100 + 2 and max(dy) == 50.0 and min(dy) == 1.0
    assert (dx[0], dx[-1]) == (0.0, 9999.0)  # the ends are kept, so the x range is exact
    assert dx == sorted(dx)

    plot = LinePlot()
    app = WidgetApp(plot, css="LinePlot { height: 10; }")

    async def body(pilot):
        plot.set_series([Series("loss", tuple(xs), tuple(ys), "red")])
        top = plot.render_line(1).text
        assert top.lstrip().startswith("50┤")  # the spike sets the y range
        assert 0 < plot.points_drawn <= 2 * 2 * plot.size.width

    run_app(app, body)


def test_line_plot_empty_one_point_nan_and_log():
    plot = LinePlot("empty")
    app = WidgetApp(plot, css="LinePlot { height: 8; }")

    async def body(pilot):
        assert any("no data yet" in plot.render_line(y).text for y in range(8))
        plot.set_series([Series("one", (5.0,), (2.0,), "green"), Series("none", (), (), "blue")])
        text = "\n".join(plot.render_line(y).text for y in range(8))
        assert "one 2" in text and "none –" in text
        plot.set_series([Series("bad", (0.0, 1.0, 2.0), (NAN, 1.0, math.inf), "not-a-colour")])
        plot.render_line(3)
        plot.log_y = True
        plot.set_series([Series("ppl", (0.0, 1.0, 2.0), (1000.0, 10.0, 0.0), "red")])
        assert plot.render_line(1).text.startswith("1000┤")

    run_app(app, body)


# -- token strip --------------------------------------------------------------


def moves(app: WidgetApp) -> list[int]:
    out = [m.index for m in app.messages if isinstance(m, TokenStrip.CursorMoved)]
    app.messages.clear()
    return out


def test_token_strip_keys_move_cursor_and_post():
    strip = TokenStrip()
    app = WidgetApp(strip)

    async def body(pilot):
        strip.set_tokens(list("abcde"), cursor=1)
        strip.focus()
        await pilot.pause()
        assert moves(app) == [1]
        for key, expected in [("right", 2), ("left", 1), ("end", 4), ("right", 4), ("home", 0), ("left", 0)]:
            await pilot.press(key)
            assert strip.cursor == expected
        await pilot.pause()
        assert moves(app) == [2, 1, 4, 0]

    run_app(app, body)


def test_token_strip_chinese_scrolls_to_cursor_and_click_maps_widths():
    tokens = ["我们", "爱", "a", "学习"] + [chr(0x4E00 + i) for i in range(196)]
    strip = TokenStrip()
    app = WidgetApp(strip, css="TokenStrip { width: 40; }")

    async def body(pilot):
        strip.set_tokens(tokens)
        await pilot.pause()
        x = sum(cell_len(t) + 1 for t in tokens[:2])  # start of the 3rd token ("a")
        await pilot.click(TokenStrip, offset=(x, 0))
        assert strip.cursor == 2
        await pilot.click(TokenStrip, offset=(x - 2, 0))  # second cell of "爱"
        assert strip.cursor == 1
        strip.focus()
        await pilot.press("end")
        line = strip.render_line(0)
        assert line.cell_length == 40
        assert line.text.rstrip().endswith(tokens[-1])
        assert any(text == tokens[-1] and style.bgcolor for text, style, _ in line)  # highlighted
        # clicking after scrolling uses the same widths plus the offset
        target = len(tokens) - 3
        await pilot.click(TokenStrip, offset=(strip.token_x(target) + 1, 0))
        assert strip.cursor == target

    run_app(app, body)


def test_token_strip_shows_whitespace():
    strip = TokenStrip(["a", " ", "\n", "\t", "hi there"])
    app = WidgetApp(strip)

    async def body(pilot):
        text = strip.render_line(0).text
        assert text.startswith("a ␣ ⏎ ⇥ hi␣there")

    run_app(app, body)


# -- screenshot ---------------------------------------------------------------


def test_screenshot_of_all_widgets(tmp_path):
    heatmap, legend, plot, strip = Heatmap(col_width=2), HeatLegend(), LinePlot("loss"), TokenStrip()
    app = WidgetApp(strip, heatmap, legend, plot, css="Heatmap { height: 8; } LinePlot { height: 8; }")

    async def body(pilot):
        text = "hello 世界\n"
        strip.set_tokens(list(text), cursor=3)
        heatmap.set_data([[math.tanh(math.sin(r + c / 3)) for c in range(len(text))] for r in range(12)])
        heatmap.cursor_col = 3
        legend.set_range(heatmap.kind, heatmap.vmin, heatmap.vmax)
        xs = tuple(float(i) for i in range(100))
        plot.set_series([Series("train", xs, tuple(3 / (1 + x) for x in xs), "#4ea1ff")])
        await pilot.pause()
        path = app.save_screenshot(filename="widgets.svg", path=str(tmp_path))
        svg = Path(path).read_text(encoding="utf-8")
        assert "train" in svg and "▼" in svg and "▀" in svg

    run_app(app, body, size=(60, 22))
