"""The product around the engine: the app's version and the versions it runs on, the files it ships (found through
importlib.resources), its log file, and the desktop entry a user may ask for."""
