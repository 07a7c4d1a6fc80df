"""The window's frame: the run toolbar, the status line, the message bar, the config panel and the Help dialogs.
"""
