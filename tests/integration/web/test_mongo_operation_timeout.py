"""A slow MongoDB ends an update with a transient error (503, Telegram retries), never a hang.

The web tier's client bounds every operation (``MONGO_OPERATION_TIMEOUT_MS``, PyMongo's
``timeoutMS``) below the update deadline. Here MongoDB sits behind a proxy that stops answering.
"""

from __future__ import annotations

import pytest

from tests.integration.web.conftest import WebHarness, WebOptions, private_message_update


@pytest.mark.parametrize(
    "web", [WebOptions(stallable_mongo=True, mongo_operation_timeout_ms=300)], indirect=True
)
async def test_a_stalled_database_gives_503_within_the_timeout_then_the_retry_succeeds(
    web: WebHarness, caplog: pytest.LogCaptureFixture
) -> None:
    assert web.mongo_proxy is not None
    assert web.settings.mongo.operation_timeout_ms < web.settings.update_deadline_s * 1000
    user = await web.client.create_user("Ира")
    update = private_message_update(7301, user, "/mongo")

    web.mongo_proxy.flowing.clear()  # MongoDB stops answering
    stalled = await web.post(update)
    assert stalled.status_code == 503
    assert stalled.headers["Retry-After"] == "1"
    assert web.controls.handled_update_ids == []
    assert await web.metric("fok_webhook_requests_total", code="503") >= 1
    # MongoDB's own timeout ended it, not the update deadline (that would be TimeoutError).
    causes = [getattr(r, "error", None) for r in caplog.records if "handed back" in r.getMessage()]
    assert len(causes) == 1
    assert causes[0] in {"NetworkTimeout", "ExecutionTimeout", "ServerSelectionTimeoutError"}

    web.mongo_proxy.flowing.set()  # it answers again: Telegram's retry goes through
    retried = await web.post(update)
    assert retried.status_code == 200
    assert web.controls.handled_update_ids == [7301]
