"""Runs without a window: one run (`headless`), several seeds (`seeds`), the thread's claims (`claims`,
`claims_report`), and the Markdown run report with its plots (`report`, `report_plots`).
"""
