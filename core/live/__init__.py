"""The live engine that runs in the training child: the engine advancing one run in time-boxed chunks and
making snapshots (`engine`), the state of one run (`run`), and save/open/export for the child (`files`).
"""
