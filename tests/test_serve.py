"""`rnn-tui serve` without a browser: the real server process, its one-line refusals, the warning
off localhost, and a page that points the browser back at the address it used."""

import contextlib
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rnn_tui.cli_serve import app_command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """`rnn-tui serve` as a subprocess in its own process group, so that stopping it also ends the app
    processes it started for the browser sessions."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.port = free_port()
        self.log = tmp_path / "serve.log"
        command = [sys.executable, "-m", "rnn_tui", "serve", "--port", str(self.port), "--runs-dir", str(tmp_path / "runs"),
                   *args]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}/"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_listening(self, seconds: float = 90) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"rnn-tui serve exited ({self.process.returncode}):\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"rnn-tui serve did not listen within {seconds} s:\n{self.output()}")

    def stop(self) -> None:
        """SIGINT as Ctrl+C would, then SIGKILL to the whole group whatever is left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)


def run_serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnn_tui", "serve", *args], capture_output=True, text=True, timeout=60)


def test_a_port_in_use_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_serve("--port", str(port))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (f"rnn-tui: error: cannot listen on 127.0.0.1 port {port}: Address already in use; "
                                     "choose another with --port (or stop what uses it)")


def test_an_unknown_host_is_one_line():
    result = run_serve("--host", "no-such-host.invalid")
    assert result.returncode == 1
    assert result.stderr.startswith("rnn-tui: error: cannot listen on no-such-host.invalid:") and result.stderr.count("\n") == 1


def test_a_bad_data_spec_is_one_line_before_serving():
    result = run_serve("--data", "builtin:no-such-dataset")
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "no-such-dataset" in result.stderr


def test_the_served_command_is_this_interpreter_running_the_app():
    python = shlex.quote(sys.executable)
    runs = shlex.quote(str(Path("runs here").resolve()))  # made absolute, quoted for the shell
    assert app_command("r1", "builtin:hello", "runs here") == \
        f"{python} -m rnn_tui app --run r1 --data builtin:hello --runs-dir {runs}"
    assert app_command(None, None, None) == f"{python} -m rnn_tui app"


def test_off_localhost_warns_and_the_page_follows_the_address_used(tmp_path):
    served = Served(tmp_path, "--host", "0.0.0.0")
    try:
        served.wait_listening()
        assert (f"rnn-tui: warning: listening on 0.0.0.0: anyone who can reach port {served.port} can use the app "
                "(and the runs on this machine)") in served.output()
        # as through `ssh -L 9999:localhost:PORT`: the browser asks for localhost:9999
        request = urllib.request.Request(served.url, headers={"Host": "localhost:9999"})
        with urllib.request.urlopen(request, timeout=30) as response:
            page = response.read().decode()
        assert re.search(r'data-session-websocket-url="ws://localhost:9999/ws"', page)
        assert 'src="http://localhost:9999/static/js/textual.js"' in page
    finally:
        served.stop()


def test_localhost_does_not_warn(tmp_path):
    served = Served(tmp_path)
    try:
        served.wait_listening()
        with urllib.request.urlopen(served.url, timeout=30) as response:
            assert f'ws://127.0.0.1:{served.port}/ws' in response.read().decode()
        assert "warning" not in served.output()
    finally:
        served.stop()


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_out_of_range_is_refused(port):
    result = run_serve("--port", port)
    assert result.returncode == 2 and result.stderr.startswith("rnn-tui: error:") and result.stderr.count("\n") == 1
