"""rnn-tui: a terminal playground for recurrent neural networks.

The core (everything except ``rnn_tui.tui`` and ``rnn_tui.cli``) imports neither Textual nor Rich.
"""

__version__ = "0.1.0"
