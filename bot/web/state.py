"""What the lifespan builds for one worker process, reachable from every route."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from bot.web.pipeline import UpdatePipeline
from bot.web.webhook import WebhookEndpoint


@dataclass
class WebState:
    pipeline: UpdatePipeline
    webhook: WebhookEndpoint
    draining: bool = False


def web_state(request: Request) -> WebState:
    state = request.app.state.fok
    if not isinstance(state, WebState):
        raise RuntimeError("the application lifespan did not run")
    return state
