"""The step-level tools of the Inspect dock (gui/dock.py): the Inspector, the analysis views (portrait, memory
probe, hints, sensitivity), the Gradient view and Compare.
"""
