"""The window's side of the child processes: the spawn-and-poll link (`link`), the QThread worker of the
training child (`worker`), and the children's entry points, importing neither Qt nor torch (`entry`).
"""
