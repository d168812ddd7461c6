"""HashSplit: tag each example with its source and hash-split it (interim split step)."""
