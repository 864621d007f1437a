"""Configs of the HEM paper's experiments (Spratling and Schütt)."""
