"""The CPU-scale reproduction studies: each file defines `get_config(arg)` (one run) and `get_study(arg)` (the grid)."""
