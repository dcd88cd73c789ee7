"""Operator tools that look at a deployment from outside: `scripts/monitor-enterprise.sh`.

Nothing in the product (bot, workers) imports this package, and it imports neither the product
nor the dev launcher: it reads what a site reliability engineer reads (HAProxy's stats, each bot
instance's /health/detailed, Prometheus, Alertmanager, MongoDB, Redis) and asks the local
cluster for its addresses through `python -m devcluster status --json`.
"""
