"""Import contract: `rnn-tui --help` and every subcommand's --help import neither torch nor
Textual (torch costs ~1.6 s, Textual ~0.3 s). Each help runs in a fresh interpreter."""

import subprocess
import sys

PROBE = """
import sys
from rnn_tui.cli import main
sys.argv = ["rnn-tui", *sys.argv[1:], "--help"]
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "textual", "rich", "jieba"})
print("HEAVY", heavy)
"""


def commands() -> list[list[str]]:
    import click

    from rnn_tui.cli import cli

    found = [[]]
    for name, command in cli.commands.items():
        found.append([name])
        if isinstance(command, click.Group):
            found += [[name, sub] for sub in command.commands]
    return found


def main() -> int:
    bad = []
    for args in commands():
        out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True).stdout
        if not out.strip().endswith("HEAVY []") or "Usage:" not in out:
            bad.append(f"rnn-tui {' '.join(args)} --help: {out.strip().splitlines()[-1]}")
    print(f"--help of {len(commands())} commands: " + ("none imports torch, textual, rich or jieba" if not bad else "FAILED"))
    print("\n".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
