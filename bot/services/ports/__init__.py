"""Ports: the Protocols services depend on; adapters in ``bot.infra`` implement them."""
