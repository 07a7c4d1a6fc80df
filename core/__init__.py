"""GRU Memory Lab's engine: tasks, model, trainers, probes, sessions and the headless runner.

Pure torch/numpy; nothing here imports Qt, so everything the window shows is computed and tested headless.
"""
