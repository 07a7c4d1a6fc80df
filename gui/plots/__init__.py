"""The plots: their one style (`style`), the bits and hidden views (`views`), the whole-run curves (`curves`)
and the note a plot shows while it is empty (`empty_note`).
"""
