"""File ▸ sessions (`sessions`), pictures (`pictures`) and the run report (`report`).
"""
