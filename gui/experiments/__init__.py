"""Whole experiments beside the live run: Seeds, Sweep (with its map) and the Thread's claims.
"""
