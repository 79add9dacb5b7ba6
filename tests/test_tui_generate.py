"""The Generate pane with Pilot, against runs trained in a fixture (no live trainer)."""


import pytest
from textual.app import App, ComposeResult
from textual.widgets import Footer

from rnn_tui.api import load_run
from rnn_tui.decode.sampling import Sampling
from rnn_tui.tui.panes.generate import GeneratePane
from tests.conftest import history_of, train_tiny_run, wait_for


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
        pane.set_run(history_of(self.path, self.step) if self.path else None)
        pane.query_one("#gen-prompt").focus()


def shown(app, wid: str) -> str:
    return str(app.query_one(wid).render())


def output(app) -> str:
    """The text the pane shows: the prime and what was generated, or the scored text."""
    return shown(app, "#gen-output")


def status(app) -> str:
    return shown(app, "#gen-status")


def expected_text(path: str, prime: str, sampling: Sampling) -> str:
    lm = load_run(path)
    return lm.detokenize([t["token"] for t in lm.generate(prime, sampling)])


def fill(pane: GeneratePane, **fields: str) -> None:
    for name, value in fields.items():
        if name == "mode":
            pane.query_one("#gen-mode").value = value
        else:
            pane.query_one(f"#gen-{name.replace('_', '-')}").value = value


async def generate_greedy(pilot, app, prompt: str, length: int) -> GeneratePane:
    """Type a prompt, generate greedily and wait until the status says it is done."""
    pane = app.query_one(GeneratePane)
    fill(pane, mode="greedy", length=str(length), prompt=prompt)
    await pilot.press("ctrl+g")
    assert await wait_for(pilot, lambda: status(app).startswith("done"))
    return pane


async def test_greedy_generation_matches_the_api(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate_greedy(pilot, app, "the ", 40)
        want = expected_text(run_path, "the ", Sampling(greedy=True, length=40))
        assert output(app) == "the " + want
        assert "40 tokens" in status(app) and "tok/s" in status(app) and "mean p" in status(app)
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
            assert await wait_for(pilot, lambda: status(app).startswith("done"))
            outs.append(output(app))
        assert outs[0] == outs[1] == "the" + expected_text(run_path, "the", Sampling(temperature=1.5, length=50, seed=7))


async def test_escape_stops_a_long_generation_and_the_pane_stays_usable(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        fill(pane, length="100000", mode="greedy")  # greedy never draws <eos> from this model
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: len(output(app)) > 20)  # ctrl+g cleared it, tokens stream in
        await pilot.press("escape")
        assert await wait_for(pilot, lambda: status(app).startswith("stopped") and not app.workers)  # it ended
        await pilot.pause()  # what the worker posted before it ended is shown
        stopped = output(app)
        assert 20 < len(stopped) < 100000 and status(app).startswith("stopped · ")
        await pilot.pause()
        assert output(app) == stopped  # nothing more arrives
        fill(pane, length="10")
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: status(app).startswith("done · 10 tokens"))


async def test_a_bad_temperature_is_one_line_and_generates_nothing(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        fill(pane, temperature="hot")
        await pilot.press("ctrl+g")  # the form is read at once: the error or a worker, nothing later
        error = shown(app, "#gen-error")
        assert error == "temperature: 'hot' is not a number"
        assert output(app).startswith("ctrl+g generates") and status(app) == "" and not app.workers


async def test_score_mode_shows_the_api_perplexity(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        text = "the cat ate the mat."
        fill(pane, prompt=text)
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: "perplexity" in status(app))
        result = load_run(run_path).score(text)
        assert f"perplexity {result['ppl']:.3f}" in status(app)
        assert f"bits/token {result['bpt']:.3f}" in status(app)
        out = output(app)
        assert out.startswith(text) and "most surprising" in out
        assert out.count(" bits") == 5
        await pilot.press("ctrl+s")  # back to generating
        assert not pane.score_mode


async def test_a_missing_run_is_one_error_line(tmp_path):
    app = PaneApp(str(tmp_path / "nope"))
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(GeneratePane)
        await pilot.press("ctrl+g")
        assert await wait_for(pilot, lambda: shown(app, "#gen-error") != "")
        error = shown(app, "#gen-error")
        assert "\n" not in error and "nope" in error
        assert output(app) == "" and status(app) == ""


async def test_chinese_is_joined_without_spaces(zh_run_path):
    app = PaneApp(zh_run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await generate_greedy(pilot, app, "床前", 30)
        assert output(app) == "床前" + expected_text(zh_run_path, "床前", Sampling(greedy=True, length=30))
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in output(app)) >= 7
        assert " " not in output(app)


async def test_score_mode_with_an_empty_prompt_scores_the_text_generated_last(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await generate_greedy(pilot, app, "the ", 30)
        generated = output(app)  # the prime and its continuation, as shown
        fill(pane, prompt="")
        await pilot.press("ctrl+s")
        assert await wait_for(pilot, lambda: "perplexity" in status(app))
        result = load_run(run_path).score(generated)
        assert result["scored"] == len(generated) - 1 == 33  # every character after the first
        assert f"{result['scored']} tokens scored" in status(app) and f"perplexity {result['ppl']:.3f}" in status(app)
        assert output(app).startswith(generated) and "most surprising" in output(app)
        assert shown(app, "#gen-error") == ""


async def test_score_mode_with_nothing_to_score_asks_for_a_text(run_path):
    app = PaneApp(run_path)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(GeneratePane)
        await pilot.press("ctrl+s")  # an empty prompt and nothing generated yet
        assert status(app) == "score mode: type a text to score (or generate one first), then enter"
        assert shown(app, "#gen-error") == "" and not app.workers
        fill(pane, prompt="the cat sat")
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: "perplexity" in status(app))
        assert f"perplexity {load_run(run_path).score('the cat sat')['ppl']:.3f}" in status(app)
