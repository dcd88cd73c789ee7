"""/metrics and /health/detailed answer only internal clients that did not come through a proxy.

The default WEB_INTERNAL_NETWORKS is loopback and the private ranges; the test client is on
127.0.0.1. A request relayed by HAProxy carries X-Forwarded-For (``option forwardfor``).
"""

from __future__ import annotations

import pytest

from tests.integration.web.conftest import WebHarness, WebOptions

INTERNAL = ("/metrics", "/health/detailed")


async def test_a_loopback_client_reads_them_a_forwarded_request_does_not(web: WebHarness) -> None:
    for path in INTERNAL:
        assert (await web.http.get(f"{web.base_url}{path}")).status_code == 200
        relayed = await web.http.get(
            f"{web.base_url}{path}", headers={"X-Forwarded-For": "149.154.167.220"}
        )
        assert (relayed.status_code, relayed.text) == (404, "Not Found")
        forwarded = await web.http.get(
            f"{web.base_url}{path}", headers={"Forwarded": "for=149.154.167.220"}
        )
        assert forwarded.status_code == 404
    # Health checks and liveness stay open: HAProxy and the orchestrator need them.
    for path in ("/ready", "/live"):
        relayed = await web.http.get(
            f"{web.base_url}{path}", headers={"X-Forwarded-For": "149.154.167.220"}
        )
        assert relayed.status_code == 200


@pytest.mark.parametrize("web", [WebOptions(internal_networks="10.20.0.0/16")], indirect=True)
async def test_a_client_outside_the_internal_networks_gets_404(web: WebHarness) -> None:
    for path in INTERNAL:
        refused = await web.http.get(f"{web.base_url}{path}")
        assert (refused.status_code, refused.text) == (404, "Not Found")
    assert (await web.http.get(f"{web.base_url}/ready")).status_code == 200
