"""Liveness, readiness and the operators' detailed health page.

``/live`` says the process serves HTTP (a restart is the cure when it does not). ``/ready`` says
this instance can process updates now: MongoDB, Redis Cluster and the Celery broker answered and it
is not draining; HAProxy's health check uses it to take an instance out. ``/health/detailed``
shows each dependency with its latency and version; it is internal (HAProxy exposes only the
webhook path).
"""

from __future__ import annotations

import os
import time
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


async def ready(request: Request) -> Response:
    state = web_state(request)
    if state.draining:
        return PlainTextResponse("draining", status_code=503)
    checks = await state.pipeline.check_dependencies()
    failed = [check.name for check in checks if not check.ok]
    if failed:
        return PlainTextResponse("not ready: " + ", ".join(failed), status_code=503)
    return PlainTextResponse("ready")


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


async def prometheus_metrics(request: Request) -> Response:
    state = web_state(request)
    return Response(render_metrics(state.pipeline.instance_id), media_type=METRICS_CONTENT_TYPE)
