"""One update followed across the tiers in one trace, on real processes.

A gunicorn bot instance and a Celery worker run with tracing on and export by OTLP/HTTP to a
receiver this test runs on loopback (the protobuf decoded with ``opentelemetry-proto``). A resident
submits an application through the emulator; the update that submits it records a notice for the
complex's manager in the outbox, with the update's ``traceparent``; a ``fok.deliver_notices`` task
sent to the worker delivers it. The spans received must form one chain: the webhook request →
the update (handlers) → MongoDB and Redis calls, the outbox insert → (the stored context) → the
worker's delivery (linked to the Celery task run) → the Bot API ``sendMessage`` call; no span
carries the bot token, the webhook secret or the MongoDB password; the instance's log line for
that update carries the trace id.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from bot.domain.users import Role
from bot.settings import CelerySettings
from devcluster.celery import CeleryWorker
from tests.e2e.conftest import BotStack, StackFactory, StackOptions
from tests.e2e.journeys.conftest import BackOffice, eventually, new_person, text_of
from workers.config import create_celery
from workers.schedule import DELIVER_NOTICES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

COMPLEX = "fok-avtozavodsky-1"  # ФОК «Олимп»
SERVER, CLIENT, CONSUMER = 2, 3, 5  # OTLP's Span.SpanKind


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    attributes: dict[str, Any]
    links: tuple[tuple[str, str], ...]


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, which) if which else None


@dataclass
class OtlpReceiver:
    """An OTLP/HTTP traces endpoint: every span it was sent, decoded."""

    spans: list[ReceivedSpan] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received = ReceivedSpan(
                        service=str(resource.get("service.name")),
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=span.kind,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        links=tuple((lk.trace_id.hex(), lk.span_id.hex()) for lk in span.links),
                    )
                    with self.lock:
                        self.spans.append(received)
                    for event in span.events:  # scrubbed too: looked at by the secret check
                        with self.lock:
                            self.spans.append(
                                ReceivedSpan(
                                    received.service,
                                    received.trace_id,
                                    received.span_id,
                                    received.span_id,
                                    f"event {event.name}",
                                    0,
                                    {a.key: _value(a.value) for a in event.attributes},
                                    (),
                                )
                            )

    def snapshot(self) -> list[ReceivedSpan]:
        with self.lock:
            return list(self.spans)


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.take(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def tracing_env(receiver: OtlpReceiver) -> dict[str, str]:
    return {
        "TRACING_ENABLED": "true",
        "TRACING_OTLP_ENDPOINT": receiver.url,
        "TRACING_SAMPLE_RATIO": "1.0",
        # The SDK's batch exporter: spans leave within 100 ms instead of 5 s.
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }


def chain(spans: dict[str, ReceivedSpan], span: ReceivedSpan) -> list[ReceivedSpan]:
    """``span`` and its ancestors, nearest first, as far as they were received."""
    found = [span]
    while found[-1].parent_id in spans:
        found.append(spans[found[-1].parent_id])
    return found


async def test_one_update_is_one_trace_from_the_webhook_to_the_workers_bot_api_call(
    make_bot_stack: StackFactory,
    otlp_receiver: OtlpReceiver,
    redis_cluster_nodes: list[tuple[str, int]],
) -> None:
    env = tracing_env(otlp_receiver)
    stack: BotStack = await make_bot_stack(StackOptions(extra_env=tuple(env.items())))
    instance = stack.instances[0]
    async with BackOffice(stack, redis_cluster_nodes) as office:
        olga = await new_person(stack.client, "Ольга", phone="+79160000001")
        await olga.register("Ольга")
        await office.services.users.set_role(None, olga.id, Role.MANAGER, frozenset({COMPLEX}))
        anna = await new_person(stack.client, "Анна")
        menu = await anna.register("Анна")
        districts = await anna.press(menu, "Каталог")
        card = await anna.press(await anna.press(districts, "Автозаводский"), "Олимп")
        ask_comment = await anna.press(await anna.press(card, "Подать заявку"), "Плавание")
        submitted = await anna.press(ask_comment, "Без комментария")
        assert "Заявка подана" in text_of(submitted)

    db = stack.mongo()
    entry = await db.outbox.find_one({"kind": "staff_new_application", "user_id": olga.id})
    assert entry is not None
    version, trace_id, written_by, flags = entry["traceparent"].split("-")
    assert version == "00"
    assert int(flags, 16) & 1  # sampled (ratio 1.0)

    # The worker: a real Celery process on the stack's settings, tracing on; one delivery run.
    worker_env = {
        key: value
        for key, value in instance.environment().items()
        if not key.startswith("WEB_") and key != "PROMETHEUS_MULTIPROC_DIR"
    }
    worker = CeleryWorker(Path(instance.run_dir), name="tracing", env=worker_env)
    await asyncio.to_thread(worker.start)
    try:
        celery = create_celery(CelerySettings(broker_url=worker_env["CELERY_BROKER_URL"]))
        celery.send_task(DELIVER_NOTICES)

        async def delivered() -> bool:
            done = await db.outbox.find_one({"_id": entry["_id"], "status": "sent"})
            return done is not None

        await eventually(delivered, within_s=60.0)

        def trace_spans() -> dict[str, ReceivedSpan]:
            return {
                s.span_id: s
                for s in otlp_receiver.snapshot()
                if s.trace_id == trace_id and not s.name.startswith("event ")
            }

        def send_message_span() -> ReceivedSpan | None:
            return next(
                (
                    s
                    for s in trace_spans().values()
                    if s.service == "fok-worker"
                    and s.kind == CLIENT
                    and "/sendMessage" in str(s.attributes.get("http.url", ""))
                ),
                None,
            )

        async def sent_span_received() -> ReceivedSpan | None:
            return send_message_span()

        # The worker's Bot API call, in the update's trace.
        bot_api_call: ReceivedSpan = await eventually(sent_span_received, within_s=30.0)
        sent = await olga.last()
        assert text_of(sent).startswith("🆕 Новая заявка")
    finally:
        await asyncio.to_thread(worker.stop)

    spans = trace_spans()
    # The worker's side: the Bot API call inside the delivery, the delivery a child of the span
    # that wrote the outbox entry, linked to the Celery task run that carried it.
    worker_chain = chain(spans, bot_api_call)
    delivery = next(s for s in worker_chain if s.name == "deliver notice")
    assert delivery.service == "fok-worker"
    assert delivery.kind == CONSUMER
    assert delivery.parent_id == written_by
    assert delivery.attributes["fok.delivery.kind"] == "staff_new_application"
    (link,) = delivery.links
    runs = {s.span_id: s for s in otlp_receiver.snapshot() if s.trace_id == link[0]}
    task_run = runs[link[1]]
    assert (task_run.service, task_run.kind) == ("fok-worker", CONSUMER)
    assert task_run.attributes.get("celery.task_name") == DELIVER_NOTICES
    assert task_run.trace_id != trace_id  # a periodic run, over entries of many traces

    # The web side: the span that wrote the entry is the update's, under the webhook request.
    update = spans[written_by]
    assert update.service == "fok-web"
    assert update.name.startswith("update "), update.name
    request = spans[update.parent_id]
    assert (request.kind, request.parent_id) == (SERVER, "")  # the root: the trace starts here
    assert request.attributes["http.target"] == stack.webhook_path
    assert chain(spans, delivery)[-1] is request
    inside_update = [s for s in spans.values() if s.parent_id == update.span_id]
    mongo_calls = {
        (s.attributes["db.statement"], s.attributes["db.mongodb.collection"])
        for s in inside_update
        if s.attributes.get("db.system") == "mongodb"
    }
    # The gate's read of the resident, the application written, and the notice in the outbox.
    assert {("find", "users"), ("insert", "applications"), ("insert", "outbox")} <= mongo_calls
    # redis' spans (the cluster client's) carry their sanitised command, no db.system.
    redis_calls = [s for s in inside_update if "db.redis.args_length" in s.attributes]
    assert redis_calls, sorted(s.name for s in inside_update)
    assert all("?" in s.attributes["db.statement"] for s in redis_calls)  # no values recorded

    # No secret in any span of the whole run (every trace, both processes, events included).
    secrets = {
        "bot token": stack.token,
        "webhook secret": stack.secret,
        "MongoDB password": urlsplit(worker_env["MONGO_URL"]).password or "",
    }
    assert all(secrets.values())
    everything = otlp_receiver.snapshot()
    assert len(everything) > len(spans)
    for span in everything:
        text = json.dumps([span.name, span.attributes], ensure_ascii=False)
        leaked = [name for name, secret in secrets.items() if secret in text]
        assert not leaked, f"{leaked} in span {span.name}: {text}"
    assert "/bot<redacted>/sendMessage" in str(bot_api_call.attributes["http.url"])

    # The instance's log line for the update that wrote the entry carries its trace id.
    records = [
        json.loads(line)
        for line in instance.process.log_path.read_text(encoding="utf-8").splitlines()
        if line.startswith("{")
    ]
    processed = [r for r in records if r.get("message") == "update processed"]
    assert processed
    (line,) = [r for r in processed if r.get("trace_id") == trace_id]
    assert line["correlation_id"] == trace_id
    assert line["handler"] == update.attributes["fok.handler"]
    assert all(len(r.get("trace_id", "")) == 32 for r in processed)
