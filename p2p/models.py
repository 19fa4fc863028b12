"""P2P lending. Nothing here yet."""
