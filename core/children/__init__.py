"""The entry points of the child processes the window starts: the training child (`trainer`), the seeds child
(`seeds`) and the sweep child (`sweep`). Each speaks only the typed messages of `core.messages`.
"""
