"""Liveness, readiness and the operators' detailed health page.

``/live`` says the process serves HTTP (a restart is the cure when it does not). ``/ready`` says
this instance can process updates now: what the webhook path needs answered (MongoDB, and a
Redis Cluster whose answering primaries serve more than half of the slots, so a master failing
over does not take every instance out at once; see ``bot.infra.health.redis_cluster_probe``)
and it is not draining; HAProxy's health check uses it to take an instance out. The Celery
broker is not part of it (no update waits for it). ``/health/detailed`` shows each dependency,
the broker included, with its latency, version and detail.

``/metrics`` and ``/health/detailed`` are internal: served only to a client in
``WEB_INTERNAL_NETWORKS`` (loopback and the private ranges by default) that did not come
through a proxy (no ``X-Forwarded-For``/``Forwarded``); anyone else gets 404, as from HAProxy,
which exposes only the webhook path.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from importlib import metadata

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bot.infra.metrics import METRICS_CONTENT_TYPE, render_metrics
from bot.web.state import web_state


def _package_version() -> str:
    try:
        return metadata.version("fok-bot")
    except metadata.PackageNotFoundError:
        return "unknown"


VERSION = _package_version()


async def live(request: Request) -> Response:
    return PlainTextResponse("ok")


def internal_client(request: Request) -> bool:
    """A direct request from an internal network (never one relayed by a proxy)."""
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False
    if request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    networks = web_state(request).pipeline.settings.web.internal_networks
    return any(address in network for network in networks)


def internal_only(
    endpoint: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        if not internal_client(request):
            return PlainTextResponse("Not Found", status_code=404)
        return await endpoint(request)

    return guarded


async def ready(request: Request) -> Response:
    state = web_state(request)
    if state.draining:
        return PlainTextResponse("draining", status_code=503)
    checks = await state.pipeline.check_readiness()
    failed = [check.name for check in checks if not check.ok]
    if failed:
        return PlainTextResponse("not ready: " + ", ".join(failed), status_code=503)
    return PlainTextResponse("ready")


@internal_only
async def detailed(request: Request) -> Response:
    state = web_state(request)
    pipeline = state.pipeline
    checks = await pipeline.check_dependencies()
    healthy = all(check.ok for check in checks) and not state.draining
    return JSONResponse(
        {
            "status": "ok" if healthy else "degraded",
            "instance": pipeline.instance_id,
            "version": VERSION,
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - pipeline.started_at, 1),
            "draining": state.draining,
            "inflight_updates": state.webhook.inflight,
            "dependencies": [asdict(check) for check in checks],
        },
        status_code=200 if healthy else 503,
    )


@internal_only
async def prometheus_metrics(request: Request) -> Response:
    state = web_state(request)
    return Response(render_metrics(state.pipeline.instance_id), media_type=METRICS_CONTENT_TYPE)
