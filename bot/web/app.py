"""The Starlette application of one bot worker process.

Settings are read when the app is created (in the worker, after fork: gunicorn does not preload
it); clients are created in the lifespan and closed after the drain (design §4 rules 7, 12).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.infra.tracing import install_asgi_tracing
from bot.settings import Settings, load_settings
from bot.web import health
from bot.web.pipeline import UpdatePipeline, open_pipeline
from bot.web.state import WebState, web_state
from bot.web.webhook import WebhookEndpoint

log = logging.getLogger(__name__)

PipelineFactory = Callable[[Settings], AbstractAsyncContextManager[UpdatePipeline]]


async def drain(state: WebState, timeout_s: float) -> int:
    """Stop taking updates (``/ready`` fails) and wait for in-flight ones; returns those left."""
    state.draining = True
    await state.webhook.wait_idle(timeout_s)
    return state.webhook.inflight


async def _webhook(request: Request) -> Response:
    return await web_state(request).webhook(request)


def create_app(
    settings_loader: Callable[[], Settings] = load_settings,
    *,
    pipeline_factory: PipelineFactory = open_pipeline,
) -> Starlette:
    settings = settings_loader()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with pipeline_factory(settings) as pipeline:
            state = WebState(pipeline=pipeline, webhook=WebhookEndpoint(pipeline))
            app.state.fok = state
            try:
                yield
            finally:
                # uvicorn has stopped accepting and waited for open requests by now; this drain
                # covers servers that do not, and keeps /ready failing while clients close.
                left = await drain(state, settings.web.drain_seconds)
                if left:
                    log.warning("shutting down with updates still in flight", extra={"left": left})
        log.info("runtime closed", extra={"event": "runtime_closed"})

    app = Starlette(
        routes=[
            Route(settings.telegram.webhook_path, _webhook, methods=["POST"]),
            Route("/live", health.live, methods=["GET"]),
            Route("/ready", health.ready, methods=["GET"]),
            Route("/health/detailed", health.detailed, methods=["GET"]),
            Route("/metrics", health.prometheus_metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    install_asgi_tracing(app, enabled=settings.tracing.enabled)  # docs/tracing.md
    return app
