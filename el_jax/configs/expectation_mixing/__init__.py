"""Configs of the CE/expectation-loss mixing paper's experiments (Battash et al., AAAI 2022)."""
