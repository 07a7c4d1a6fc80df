"""The `.gmlab` session file: save and open (`gmlab`), its container (`container`), older formats
(`migrations`), and a run's CSV export (`csv_export`).
"""
