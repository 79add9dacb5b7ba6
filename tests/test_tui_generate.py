"""The Generate pane with Pilot, against runs trained in a fixture (no live trainer)."""


import pytest
from textual.app import App, ComposeResult
from textual.widgets import Footer

from rnn_tui.api import load_run
from rnn_tui.decode.sampling import Sampling
from rnn_tui.tui.panes.generate import GeneratePane
from tests.conftest import train_tiny_run, wait_for


@pytest.fixture(scope="module")
def run_path(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("genruns")
    return str(train_tiny_run(root, "the cat sat on the mat. the dog ate the hat.\n" * 100, "en").path)


@pytest.fixture(scope="module")
def zh_run_path(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("zhruns")
    return str(train_tiny_run(root, "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n" * 80, "zh", steps=60).path)


class PaneApp(App[None]):
    def __init__(self, path: str | None, step: int | None = 30) -> None:
        super().__init__()
        self.path, self.step = path, step

    def compose(self) -> ComposeResult:
        yield GeneratePane()
        yield Footer()

    def on_mount(self) -> None:
        pane = self.query_one(GeneratePane)
        pane.set_run(self.path, self.step)
        pane.query_one("#gen-prompt").focus()


def shown(app, wid: str) -> str:
    return str(app.query_one(wid).render())


def expected_text(path: str, prime: str, sampling: Sampling) -> str:
    lm = load_run(path)
    return lm.detokenize([t["token"] for t in lm.generate(prime, sampling)])


def fill(pane: GeneratePane, **fields: str) -> None:
    for name, value in fields.items():
        if name == "mode":
            pane.query_one("#gen-mode").value = value
        else:
            pane.query_one(f"#gen-{name.replace('_', '-')}").value = value


async def test_greedy_generation_matches_the_api(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        fill(pane, mode="greedy", length="40", prompt="the ")
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: pane.status.startswith("done"))
        want = expected_text(run_path, "the ", Sampling(greedy=True, length=40))
        assert pane.generated == want
        assert "the " + want in shown(app, "#gen-output")
        assert "40 tokens" in pane.status and "tok/s" in pane.status and "mean p" in pane.status
        # the keys are in the footer with their ids
        ids = {b.binding.id for b in app.screen.active_bindings.values()}
        assert {"generate.run", "generate.stop", "generate.score"} <= ids


async def test_a_seed_makes_sampling_reproducible(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        fill(pane, seed="7", length="50", temperature="1.5", prompt="the")
        outs = []
        for _ in range(2):
            await pilot.press("ctrl+g")
            assert await wait_for(pilot, lambda: pane.status.startswith("done"))
            outs.append(pane.generated)
        assert outs[0] == outs[1] == expected_text(run_path, "the", Sampling(temperature=1.5, length=50, seed=7))


async def test_escape_stops_a_long_generation_and_the_pane_stays_usable(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        fill(pane, length="100000", mode="greedy")  # greedy never draws <eos> from this model
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: len(pane.generated) > 20)
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: pane.status.startswith("stopped") and not pane.workers._workers)
        n = len(pane.generated)
        assert 0 < n < 100000
        await pilot.pause(0.2)
        assert len(pane.generated) == n  # nothing more arrives
        fill(pane, length="10")
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: pane.status.startswith("done · 10 tokens"))


async def test_a_bad_temperature_is_one_line_and_generates_nothing(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        fill(pane, temperature="hot")
        await pilot.press("ctrl+g")
        await pilot.pause(0.2)
        error = shown(app, "#gen-error")
        assert error == "temperature: 'hot' is not a number"
        assert pane.generated == "" and pane.job == 0 and not pane.workers._workers


async def test_score_mode_shows_the_api_perplexity(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        text = "the cat ate the mat."
        fill(pane, prompt=text)
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: "perplexity" in pane.status)
        result = load_run(run_path).score(text)
        assert f"perplexity {result['ppl']:.3f}" in pane.status
        assert f"bits/token {result['bpt']:.3f}" in pane.status
        out = shown(app, "#gen-output")
        assert out.startswith(text) and "most surprising" in out
        assert out.count(" bits") == 5
        await pilot.press("ctrl+s")  # back to generating
        assert not pane.score_mode


async def test_a_missing_run_is_one_error_line(tmp_path):
    app = PaneApp(str(tmp_path / "nope"))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: shown(app, "#gen-error") != "")
        error = shown(app, "#gen-error")
        assert "\n" not in error and "nope" in error
        assert pane.generated == "" and not pane.running


async def test_chinese_is_joined_without_spaces(zh_run_path):
    app = PaneApp(zh_run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        fill(pane, mode="greedy", length="30", prompt="床前")
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: pane.status.startswith("done"))
        assert pane.generated == expected_text(zh_run_path, "床前", Sampling(greedy=True, length=30))
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in pane.generated) >= 5
        assert " " not in pane.generated and " " not in shown(app, "#gen-output")
