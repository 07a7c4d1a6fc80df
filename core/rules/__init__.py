"""Online learning rules on the single fast NumPy engine: truncated BPTT and exact RTRL (`engines`), UORO and
SnAp-1 (`approximate`), gradient fidelity against a shadow RTRL (`fidelity`, `fidelity_history`), and the table
that builds the engine of each rule in the catalogue (`table`).
"""
