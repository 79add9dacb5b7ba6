"""End to end in a real headless Chromium: `rnn-tui serve` serves the page, the app's tabs render in
the browser's terminal (xterm.js), and key presses typed into the page reach the app.

The README's screenshot comes from this test:
`RNN_TUI_SCREENSHOT=assets/serve-browser.png python -m pytest -q tests/test_serve_browser.py`."""

import os
import shutil
import tempfile
import time

import pytest

from tests.test_serve import Served

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# without the background-networking flags Chromium's own connections out are refused on a closed network
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")

# textual-serve keeps its xterm.js Terminal to itself; xterm's Terminal sets `this._addonManager` in its
# constructor, so a setter of that name on Object.prototype (installed before the page's scripts run)
# hands the page's terminal to the test, which reads the text of its screen buffer
CATCH_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "_addonManager", {configurable: true, set(value) {
  Object.defineProperty(this, "_addonManager", {value, writable: true, configurable: true, enumerable: true});
  window.__terminals.push(this);
}});
"""
READ_SCREEN = """
const terminal = window.__terminals && window.__terminals[0];
if (!terminal) return null;
const lines = [];
for (let row = 0; row < terminal.rows; row++) {
  const line = terminal.buffer.active.getLine(row);
  lines.push(line ? line.translateToString(true) : "");
}
return lines.join("\\n");
"""
TABS = "Data  Train  Inspect  Generate  Runs  Translate  Classify  Forecast  Lab"


def require_chromium() -> None:
    """Under CI (.ci/run installs chromium and chromium-driver) a missing browser fails; elsewhere the
    test is skipped, and pytest's summary counts the skip."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} not installed: CI must install chromium and chromium-driver (.ci/run does)")
        pytest.skip(f"{', '.join(missing)} not installed (.ci/run installs chromium and chromium-driver)")


class Browser:
    def __init__(self, profile: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": 1200, "height": 800, "deviceScaleFactor": 1, "mobile": False})
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CATCH_TERMINAL})

    def screen(self) -> str:
        return self.driver.execute_script(READ_SCREEN) or ""

    def wait_for(self, *texts: str, seconds: float = 120) -> str:
        deadline = time.time() + seconds
        while time.time() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.3)
        raise AssertionError(f"{texts!r} did not all appear; the browser's terminal shows:\n{self.screen()}")

    def wait_gone(self, text: str, seconds: float = 120) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if text not in self.screen():
                return
            time.sleep(0.3)
        raise AssertionError(f"{text!r} is still shown:\n{self.screen()}")

    def wait_still(self, seconds: float = 60) -> None:
        """Until the screen has not changed for a second (for a screenshot: no animation half way)."""
        deadline, last, since = time.time() + seconds, None, time.time()
        while time.time() < deadline:
            screen = self.screen()
            if screen != last:
                last, since = screen, time.time()
            elif time.time() - since >= 1:
                return
            time.sleep(0.1)
        raise AssertionError(f"the screen kept changing for {seconds} s")

    def keys(self, *keys: str) -> None:
        """Typed into the terminal's input (xterm's hidden textarea), as a user's key presses are."""
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(*keys)

    def quit(self) -> None:
        self.driver.quit()


def test_the_app_in_a_browser(tmp_path):
    require_chromium()
    from selenium.webdriver.common.keys import Keys

    served = Served(tmp_path)
    browser = None
    try:
        served.wait_listening()
        browser = Browser(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))
        browser.driver.get(served.url)
        # the app opens on Train (no run yet); its footer is drawn once the app is up
        screen = browser.wait_for(TABS, "loss (nats/token)", "f1 Help")
        assert screen.splitlines()[1].split() == TABS.split()  # the tab bar is the second row, under the header
        browser.keys(Keys.F1)
        browser.wait_for("a terminal playground for recurrent networks", "Equations as implemented")
        browser.keys(Keys.ESCAPE)  # closes the help (alone: esc and a key straight after it read as alt+key)
        browser.wait_gone("a terminal playground for recurrent networks")
        browser.keys("1")  # the Data tab
        browser.wait_for("builtin:python-stdlib", "tokens per line:", "^r Preview")
        if os.environ.get("RNN_TUI_SCREENSHOT"):
            browser.wait_still()  # the tab's underline slides over
            browser.driver.save_screenshot(os.environ["RNN_TUI_SCREENSHOT"])
    finally:
        if browser is not None:
            browser.quit()
        served.stop()
