"""Configs of the Encouraging Loss paper's experiments (Zhao et al., AAAI 2022)."""
