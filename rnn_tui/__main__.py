"""`python -m rnn_tui` is `rnn-tui`."""

from rnn_tui.cli import main

main()
