"""Where the work of sweeps, claims and multi-seed runs goes: this process, local worker processes, or a Dask
cluster, through one concurrent.futures code path (torch-free; `distributed` imported only when asked for)."""
