"""runs layer of the rnn-tui core (no Textual, no Rich)."""
