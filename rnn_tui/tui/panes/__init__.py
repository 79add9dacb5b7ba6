"""The app's panes, one per tab."""
