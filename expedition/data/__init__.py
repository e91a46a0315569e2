"""Data files shipped with the expedition package (read with importlib.resources)."""
