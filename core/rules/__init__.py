"""Online learning rules on the single fast NumPy engine: truncated BPTT and exact RTRL, and the parts every engine
shares (`tbptt_rtrl`), UORO and SnAp-1 (`approximate`), gradient fidelity against a shadow RTRL (`fidelity`,
`fidelity_history`), and the table that builds the engine of each rule in the catalogue (`engines`;
the catalogue itself is core/learning_rules.py).
"""
