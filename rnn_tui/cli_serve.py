"""`rnn-tui serve`: the app in a browser tab, with textual-serve. Each browser session runs its own
`rnn-tui app` process (with the same --data, --run and --runs-dir) behind a websocket; textual-serve
(and its aiohttp and rich) is imported inside the command, so `rnn-tui --help` stays instant.

The command registers itself on cli.py's group, which imports this module at its end: either
module can be imported first."""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path
from typing import Any

import click

from rnn_tui.cli import RUNS_DIR_OPTION, cli
from rnn_tui.errors import RnnTuiError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any other than this machine's own lets whoever reaches the port use the app.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--run", "run_spec", default=None, help="Each session opens this run (reattached if it is training).")
@click.option("--data", "data_spec", default=None, help="Each session opens this dataset.")
@RUNS_DIR_OPTION
def serve(host: str, port: int, run_spec: str | None, data_spec: str | None, runs_dir: str | None) -> None:
    """Serve the app to a web browser: open http://HOST:PORT (over SSH: `ssh -L 8000:localhost:8000 HOST`,
    then http://localhost:8000 on your machine). Each browser tab runs its own app; Ctrl+C stops the server."""
    if data_spec:
        from rnn_tui.data.spec import resolve

        resolve(data_spec)  # a bad --data is one line here, not an error in every browser tab
    check_port_free(host, port)
    if host not in LOCAL_HOSTS:
        click.echo(f"rnn-tui: warning: listening on {host}: anyone who can reach port {port} can use the app "
                   "(and the runs on this machine)", err=True)
    make_server(app_command(run_spec, data_spec, runs_dir), host, port).serve()


def app_command(run_spec: str | None, data_spec: str | None, runs_dir: str | None) -> str:
    """The shell command each browser session runs: this interpreter's `rnn-tui app` with the options given."""
    args = [sys.executable, "-m", "rnn_tui", "app"]
    for flag, value in (("--run", run_spec), ("--data", data_spec),
                        ("--runs-dir", str(Path(runs_dir).resolve()) if runs_dir else None)):
        if value:
            args += [flag, value]
    return shlex.join(args)


def check_port_free(host: str, port: int) -> None:
    """One clear line, before the server prints anything, when the address cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise RnnTuiError(f"cannot listen on {host}: {exc.strerror} (--host)") from None
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(address)
            except OSError as exc:
                raise RnnTuiError(f"cannot listen on {host} port {port}: {exc.strerror}; "
                                  "choose another with --port (or stop what uses it)") from None


def make_server(command: str, host: str, port: int) -> Any:
    """A textual-serve Server whose page points the browser back at the address it used: through an
    SSH tunnel on another local port, or by a name other than --host, the websocket still connects."""
    from aiohttp import web
    from textual_serve.server import Server

    class AddressedServer(Server):
        async def handle_index(self, request: web.Request) -> Any:
            # no await comes between setting the url and the page reading it
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

    return AddressedServer(command, host=host, port=port, title="rnn-tui")
