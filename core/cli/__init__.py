"""The command lines: `main.py train` (`train`), `main.py sweep` (`sweep`), `main.py claims` (`claims`), and the
one parser of config flags they share (`flags`).
"""
