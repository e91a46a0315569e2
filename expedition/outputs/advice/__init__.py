"""Reconstruction advice: a versioned rule set (a TOML data file) turns an expedition's analytics into
advice items with their evidence; reviewers sign them off (see :mod:`expedition.outputs.advice.store`)."""
