"""OpenTelemetry tracing of every tier: off by default, one provider per process when on.

``configure_tracing`` is called by the composition root (``bot.bootstrap``) once per process,
after fork. Off (``TRACING_ENABLED`` false) it does nothing at all: no provider, no
instrumentation, and every helper here returns at its first line. On, it installs a
``TracerProvider`` (service ``<TRACING_SERVICE_NAME>-<role>``, sampled at the root with
``TRACING_SAMPLE_RATIO`` and then as the parent was), instruments PyMongo, redis (the cluster
client too), httpx (the Bot API calls) and, in a Celery worker, Celery; spans leave in batches by
OTLP/HTTP.

One update is one trace: the webhook request's server span (``TracedAsgi``; the trace starts
there, an inbound ``traceparent`` is not trusted), the update span around PTB's handlers
(``traced_update``), their MongoDB and Redis calls, and the outbox write, whose entry keeps the
W3C ``traceparent`` of the span that wrote it (``current_trace_context``). A worker's delivery of
that entry is a child of the stored context (``OtelDeliveryTracing``), so the Bot API call that
sends it is in the update's trace; the Celery task run that happened to carry it (a periodic poll
over many entries of many traces) is a span link.

No secret leaves in a span: every exported span passes ``ScrubbingSpanExporter``, which removes
what the log scrubber removes (the bot token — Bot API URLs carry it in their path — the webhook
secret, URL passwords, the secrets of the environment) from the name, every attribute, event,
link and the status.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, SpanKind, Status
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from bot.infra.logs import SecretScrubber, environment_secrets, secret_forms

TRACEPARENT = "traceparent"
# Health probes and scrapes every few seconds are not worth a trace each.
EXCLUDED_URLS = "/live,/ready,/metrics,/health"
# Trace context a caller of the webhook might send: Telegram sends none, and nobody outside may
# decide what we sample or which trace our spans join.
_INBOUND_CONTEXT_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})
_PROPAGATOR = TraceContextTextMapPropagator()
_SCOPE = "bot"


class ScrubbingSpanExporter(SpanExporter):
    """Exports through ``inner`` copies of the spans with every secret replaced."""

    def __init__(self, inner: SpanExporter, scrubber: SecretScrubber) -> None:
        self._inner = inner
        self._scrubber = scrubber

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._scrubber.scrub(value)
        if isinstance(value, tuple | list):
            return tuple(self._value(item) for item in value)
        return value

    def _attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        return {key: self._value(value) for key, value in (attributes or {}).items()}

    def scrubbed(self, span: ReadableSpan) -> ReadableSpan:
        status = span.status
        if status.description:
            status = Status(status.status_code, self._scrubber.scrub(status.description))
        return ReadableSpan(
            name=self._scrubber.scrub(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes),
            events=[
                Event(event.name, self._attributes(event.attributes), event.timestamp)
                for event in span.events
            ],
            links=[Link(link.context, self._attributes(link.attributes)) for link in span.links],
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([self.scrubbed(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


@dataclass
class Tracing:
    """What ``configure_tracing`` installed in this process."""

    provider: TracerProvider
    service_name: str
    instrumentors: list[BaseInstrumentor] = field(default_factory=list)

    @property
    def tracer(self) -> trace.Tracer:
        return self.provider.get_tracer(_SCOPE)

    def flush(self, timeout_s: float = 2.0) -> None:
        """Export what is batched; bounded, so a collector that is away cannot hold up a
        process's shutdown (its spans are lost instead)."""
        self.provider.force_flush(timeout_millis=int(timeout_s * 1000))

    def shutdown(self) -> None:
        """Uninstrument the libraries and flush and stop the exporter (tests; process exit)."""
        global _active
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        self.provider.shutdown()
        if _active is self:
            _active = None


_active: Tracing | None = None


def active_tracing() -> Tracing | None:
    return _active


def configure_tracing(
    *,
    service_name: str,
    instance: str,
    endpoint: str,
    sample_ratio: float,
    secrets: Iterable[str] = (),
    celery: bool = False,
    exporter: SpanExporter | None = None,
) -> Tracing:
    """Install tracing for this process, once (a later call returns the first's).

    ``endpoint``: the OTLP/HTTP traces URL; ``exporter`` replaces the OTLP exporter (the
    in-memory one of the tests). ``celery``: instrument Celery's task signals (a worker).
    """
    global _active
    if _active is not None:
        return _active
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name, SERVICE_INSTANCE_ID: instance}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    scrubber = SecretScrubber([*secret_forms(list(secrets)), *environment_secrets()])
    sink = exporter or OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(BatchSpanProcessor(ScrubbingSpanExporter(sink, scrubber)))
    instrumentors: list[BaseInstrumentor] = [
        PymongoInstrumentor(),
        RedisInstrumentor(),
        HTTPXClientInstrumentor(),
    ]
    if celery:
        # Imported here: only a worker process has (and needs) Celery's signals instrumented.
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        instrumentors.append(CeleryInstrumentor())  # type: ignore[no-untyped-call]
    for instrumentor in instrumentors:
        instrumentor.instrument(tracer_provider=provider)
    _active = Tracing(provider, service_name, instrumentors)
    return _active


# --- the web tier --------------------------------------------------------------------------


class _Asgi(Protocol):
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...


class TracedAsgi:
    """ASGI middleware: each HTTP request (but probes and scrapes) a server span, the root of its
    trace. Looks the provider up per request, since the process installs it in the lifespan,
    after the app was built."""

    def __init__(self, app: _Asgi) -> None:
        self._app = app
        self._traced: tuple[Tracing, OpenTelemetryMiddleware] | None = None

    def _middleware(self, tracing: Tracing) -> OpenTelemetryMiddleware:
        if self._traced is None or self._traced[0] is not tracing:
            middleware = OpenTelemetryMiddleware(
                self._app,
                excluded_urls=EXCLUDED_URLS,
                tracer_provider=tracing.provider,
                exclude_spans=["receive", "send"],
            )
            self._traced = (tracing, middleware)
        return self._traced[1]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        tracing = _active
        if tracing is None or scope.get("type") != "http":
            await self._app(scope, receive, send)
            return
        headers = [
            (name, value)
            for name, value in scope.get("headers", [])
            if name.lower() not in _INBOUND_CONTEXT_HEADERS
        ]
        await self._middleware(tracing)({**scope, "headers": headers}, receive, send)


class _MiddlewareHost(Protocol):
    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None: ...


def install_asgi_tracing(app: _MiddlewareHost, *, enabled: bool) -> None:
    """Put ``TracedAsgi`` around ``app`` when tracing is on; off, the app is left as it is."""
    if enabled:
        app.add_middleware(TracedAsgi)


class UpdateSpan:
    """The span of one update inside PTB, named after the handler that took it."""

    def __init__(self, span: trace.Span | None) -> None:
        self._span = span

    def handled_by(self, handler: str | None) -> None:
        if self._span is not None and handler:
            self._span.set_attribute("fok.handler", handler)
            self._span.update_name(f"update {handler}")


_UNTRACED_UPDATE = UpdateSpan(None)


@contextmanager
def traced_update() -> Iterator[UpdateSpan]:
    """A span around one update's handlers (the gate, the feature, the error handlers)."""
    tracing = _active
    if tracing is None:
        yield _UNTRACED_UPDATE
        return
    with tracing.tracer.start_as_current_span("update") as span:
        yield UpdateSpan(span)


# --- the outbox: context stored with an entry, continued by its delivery --------------------


def current_trace_context() -> str | None:
    """The W3C ``traceparent`` of the current span, to store with what a worker sends later."""
    if _active is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


class OtelDeliveryTracing:
    """``DeliveryTracing`` over OpenTelemetry (``bot.services.ports.tracing``)."""

    def delivering(
        self, what: str, kind: str, trace_context: str | None
    ) -> AbstractContextManager[None]:
        tracing = _active
        if tracing is None:
            return nullcontext()
        return self._span(tracing, what, kind, trace_context)

    @contextmanager
    def _span(
        self, tracing: Tracing, what: str, kind: str, trace_context: str | None
    ) -> Iterator[None]:
        run = trace.get_current_span().get_span_context()
        # A child of the span that wrote the entry (one trace from the update to the Bot API
        # call); without one, of the task run. The run is linked either way.
        parent: otel_context.Context | None = None
        if trace_context:
            parent = _PROPAGATOR.extract({TRACEPARENT: trace_context})
        with tracing.tracer.start_as_current_span(
            f"deliver {what}",
            context=parent,
            kind=SpanKind.CONSUMER,
            links=[Link(run)] if run.is_valid and trace_context else [],
            attributes={"fok.delivery.what": what, "fok.delivery.kind": kind},
        ):
            yield
