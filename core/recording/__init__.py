"""Recordings: the recorder and its files (`recorder`), GIF/WebP/MP4 writers (`formats`), frames spaced in steps
(`schedule`), and the low-priority encoder thread (`encoder`).
"""
