"""Experiments built from runs: seed noise, verdicts, learning curves, and the small demos of the chapters."""
