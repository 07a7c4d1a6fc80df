"""S learners (seeds) as one batched computation: what they must share (`shape`), the NumPy engine for each rule
(`engine`, `approximate`, `adam`), the same in torch on any device (`torch_engine`, `torch_rtrl`), which engine runs
each rule of the catalogue (`table`), the device choice (`devices`), and learners built from Configs (`learners`).
Unrelated to `core.train.batch` (minibatches).
"""
