"""Tracing in one process, with the SDK's in-memory exporter: off means nothing installed, the
scrubbing of every exported span, a delivery continuing a stored trace context, and the trace id
in a log line. The chain across real processes is tests/e2e/tracing."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pythonjsonlogger.json import JsonFormatter

from bot.bootstrap import ProcessRole, open_process, start_tracing
from bot.infra import tracing as tracing_module
from bot.infra.logs import ContextFilter, SecretScrubber
from bot.infra.tracing import (
    OtelDeliveryTracing,
    Tracing,
    active_tracing,
    configure_tracing,
    current_trace_context,
    install_asgi_tracing,
    traced_update,
)
from bot.settings import MongoSettings, TracingSettings

TOKEN = "1234567890:AAExampleExampleExampleExample_abc"
MONGO_PASSWORD = "s3cret-mongo-pass"
MONGO_URL = f"mongodb://fok:{MONGO_PASSWORD}@db1:27017/?replicaSet=rs0"


@pytest.fixture(scope="module")
def installed_once() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    """Once for the module, as in a process: an instrumentation installed again after
    ``shutdown`` keeps the tracer of its first installation."""
    assert active_tracing() is None
    exporter = InMemorySpanExporter()
    installed = configure_tracing(
        service_name="fok-test",
        instance="t1",
        endpoint="http://127.0.0.1:9/v1/traces",
        sample_ratio=1.0,
        secrets=[TOKEN, MONGO_URL],
        exporter=exporter,
    )
    try:
        yield installed, exporter
    finally:
        installed.shutdown()
    assert active_tracing() is None


@pytest.fixture
def memory(
    installed_once: tuple[Tracing, InMemorySpanExporter],
) -> tuple[Tracing, InMemorySpanExporter]:
    installed_once[1].clear()
    return installed_once


def finished(installed: Tracing, exporter: InMemorySpanExporter) -> list[Any]:
    installed.flush()
    return list(exporter.get_finished_spans())


class Host:
    def __init__(self) -> None:
        self.added: list[Any] = []

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        self.added.append(middleware_class)


def test_off_by_default_installs_nothing() -> None:
    settings = TracingSettings()
    assert settings.enabled is False
    assert start_tracing(settings, ProcessRole.WEB, "bot1", [TOKEN]) is None
    assert active_tracing() is None
    assert current_trace_context() is None
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    host = Host()
    install_asgi_tracing(host, enabled=False)
    assert host.added == []
    with traced_update() as span:
        span.handled_by("catalog.start")  # nothing to name: no span exists
    assert not trace.get_current_span().get_span_context().is_valid


def test_every_exported_span_is_scrubbed_of_secrets(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    installed, exporter = memory
    with installed.tracer.start_as_current_span(
        f"POST /bot{TOKEN}/sendMessage",
        attributes={
            "http.url": f"http://api.telegram.org/bot{TOKEN}/sendMessage",
            "db.connection": MONGO_URL,
            "peer": ["redis://:other-password@redis1:6379/0", "plain"],
            "count": 3,
        },
    ) as span:
        span.add_event("retry", {"exception.message": f"connect to {MONGO_URL} failed"})
        span.set_attribute("late", f"https://x/bot{TOKEN}/getMe")
    (exported,) = finished(installed, exporter)
    text = json.dumps(
        [exported.name, dict(exported.attributes or {})]
        + [[e.name, dict(e.attributes or {})] for e in exported.events]
    )
    for secret in (TOKEN, MONGO_PASSWORD, "other-password"):
        assert secret not in text
    assert exported.attributes is not None
    assert exported.attributes["http.url"] == "http://api.telegram.org/bot<redacted>/sendMessage"
    assert exported.attributes["count"] == 3
    assert exported.attributes["peer"] == ("redis://:<redacted>@redis1:6379/0", "plain")


def test_httpx_calls_are_spans_with_the_token_scrubbed(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    installed, exporter = memory

    # The instrumentation wraps httpx's own transports: a real call, to a local port that
    # refuses it (the span records the URL all the same).
    with httpx.Client(timeout=1.0) as client, pytest.raises(httpx.ConnectError):
        client.post(f"http://127.0.0.1:9/bot{TOKEN}/sendMessage", json={"chat_id": 1})
    spans = finished(installed, exporter)
    (call,) = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert call.attributes is not None
    assert call.attributes["http.url"] == "http://127.0.0.1:9/bot<redacted>/sendMessage"
    assert TOKEN not in json.dumps([str(e.attributes) for e in call.events])


def test_a_delivery_continues_the_stored_trace_and_links_the_run(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    installed, exporter = memory
    with traced_update() as update:
        update.handled_by("applications.submit")
        stored = current_trace_context()
    assert stored is not None
    deliveries = OtelDeliveryTracing()
    with installed.tracer.start_as_current_span("run/fok.deliver_notices") as run:
        with (
            deliveries.delivering("notice", "staff_new_application", stored),
            installed.tracer.start_as_current_span("POST"),
        ):
            pass
        with deliveries.delivering("reminder", "hours_before", None):
            pass
    spans = {s.name: s for s in finished(installed, exporter)}
    written, delivered = spans["update applications.submit"], spans["deliver notice"]
    assert stored.split("-")[1:3] == [
        format(written.context.trace_id, "032x"),
        format(written.context.span_id, "016x"),
    ]
    assert delivered.context.trace_id == written.context.trace_id
    assert delivered.parent is not None
    assert delivered.parent.span_id == written.context.span_id
    assert [link.context.span_id for link in delivered.links] == [run.get_span_context().span_id]
    assert spans["POST"].parent is not None
    assert spans["POST"].parent.span_id == delivered.context.span_id
    # Nothing stored (a reminder): a child of the run, no link to itself.
    reminder = spans["deliver reminder"]
    assert reminder.parent is not None
    assert reminder.parent.span_id == run.get_span_context().span_id
    assert reminder.links == ()


def test_a_log_line_inside_a_trace_carries_its_trace_id(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    assert memory[0] is active_tracing()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("{levelname}{name}{message}", style="{"))
    handler.addFilter(ContextFilter("bot1"))
    handler.addFilter(SecretScrubber([TOKEN]))
    logger = logging.getLogger("tests.tracing")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside")
        with traced_update():
            logger.warning("inside")
            trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    outside, inside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert "trace_id" not in outside
    assert "correlation_id" not in outside
    assert inside["trace_id"] == inside["correlation_id"] == trace_id
    assert len(inside["span_id"]) == 16


def test_tracing_is_installed_once_per_process(
    memory: tuple[Tracing, InMemorySpanExporter],
) -> None:
    installed, _ = memory
    again = start_tracing(TracingSettings(enabled=True), ProcessRole.WORKER, "worker-1", [TOKEN])
    assert again is installed
    assert tracing_module.active_tracing() is installed


async def test_an_operator_command_is_one_trace(
    memory: tuple[Tracing, InMemorySpanExporter],
    mongo_url: str,
    mongo_db_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed, exporter = memory
    monkeypatch.setenv("TRACING_ENABLED", "true")
    settings = MongoSettings(url=mongo_url, database=mongo_db_name)  # type: ignore[arg-type]
    async with open_process(settings, ProcessRole.CLI, operator="ops") as process:
        assert await process.storage.users.get(42) is None
    spans = finished(installed, exporter)
    (command,) = [s for s in spans if s.name == "cli cli"]
    reads = [s for s in spans if (s.attributes or {}).get("db.mongodb.collection") == "users"]
    assert reads
    assert all(s.parent is not None and s.parent.span_id == command.context.span_id for s in reads)
