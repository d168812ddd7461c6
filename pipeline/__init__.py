"""Cascade's pipeline: config, factory, runners and the commands around them."""
