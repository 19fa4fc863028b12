"""Supply-chain finance. Nothing here yet."""
