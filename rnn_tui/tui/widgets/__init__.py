"""Small reusable widgets of the app: heatmap, line plot, token strip, attention map, path completion."""
