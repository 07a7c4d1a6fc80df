"""Sweeps over one or two config fields x seeds: axes, plan, collector and run (`grid`), the rule axis's derived
values (`rule_axis`), and the map as PNG/SVG (`render`).
"""
