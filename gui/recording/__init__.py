"""Recording the window: capturing a widget (`capture`), the recording flags (`flags`) and the record
control (`control`).
"""
