"""Helpers shared by Cascade's components."""
