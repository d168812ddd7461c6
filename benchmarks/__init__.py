"""Benchmarks: scripts that print tables comparing Cascade's steps with stock TFX."""
