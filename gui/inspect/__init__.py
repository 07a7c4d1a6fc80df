"""The Inspect dock (`dock`) and its tabs: the Inspector, the analysis views (portrait, memory probe, hints,
sensitivity), the Gradient view and Compare.
"""
