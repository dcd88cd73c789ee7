"""Fixtures for the HAProxy tests; the machinery lives in edge_harness.py."""

from tests.haproxy.edge_harness import backends, cert_dir, edge, start_edge

__all__ = ["backends", "cert_dir", "edge", "start_edge"]
