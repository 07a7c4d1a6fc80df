"""The GRU itself: the torch model and its readout (`model`), the cell's derivatives by hand in NumPy and the
flat-vector layout and optimizers (`derivatives`), and the torch optimizers with their one saved form (`optimizers`).
"""
