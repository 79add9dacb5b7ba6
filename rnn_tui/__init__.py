"""rnn-tui: a terminal playground for recurrent neural networks.

The core (everything except ``rnn_tui.tui``, ``rnn_tui.cli`` and ``rnn_tui.cli_report``) imports neither
Textual nor Rich.
"""

__version__ = "0.1.0"
