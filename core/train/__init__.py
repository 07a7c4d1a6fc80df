"""Trainers: the `Trainer` interface both modes implement (`trainer`), the online trainer (`online`), the
Keras-style minibatch trainer (`batch`), what a trainer hands the live engine (`views`), and the one run loop
that advances a trainer for the window and for the headless runner alike (`loop`).
"""
