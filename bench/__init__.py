"""``make bench``: the FOK Bot under webhook load as Telegram sends it (docs/benchmarks.md)."""
