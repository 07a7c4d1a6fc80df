"""Installed as `gru_memory_lab_resources` (pyproject.toml maps resources/ and docs/ into it): the files the app
reads at run time, found through importlib.resources by core/product/files.py. Imports nothing."""
