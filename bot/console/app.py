"""build_console(deps) -> the console's ASGI app (Starlette), meant to be mounted at /console.

`standalone(deps)` wraps it for `changebot console`: the console at /console, `/` sends
there, `/health` answers `ok`. `changebot run --http` mounts the same app next to the
Slack endpoint instead.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.console.deps import ConsoleDeps
from bot.console.pages import home, playbook, pulse, signin, updates
from bot.console.web import HERE, SecurityHeaders, not_found, own_origins, viewer_of

MOUNT = "/console"


async def _not_found(request: Request, exc) -> PlainTextResponse:
    if request.url.path.startswith(request.scope.get("root_path", "") + "/static/"):
        return PlainTextResponse("not found", 404)
    viewer = viewer_of(request) if request.cookies else None
    return not_found(request, viewer, "There is no such page.")


def build_console(deps: ConsoleDeps) -> Starlette:
    routes = [
        Route("/", home.home, name="home"),
        Route("/sign-in", signin.sign_in_page, name="sign_in"),
        Route("/sign-in/link", signin.link_page, methods=["GET"], name="link"),
        Route("/sign-in/link", signin.redeem_link, methods=["POST"], name="redeem"),
        Route("/sign-in/slack", signin.slack_start, name="slack_start"),
        Route("/sign-in/slack/callback", signin.slack_callback, name="slack_callback"),
        Route("/sign-out", signin.sign_out, methods=["POST"], name="sign_out"),
        Route("/pulse", pulse.pulse_index, name="pulse"),
        Route("/pulse/{survey_id}", pulse.pulse_survey, name="pulse_survey"),
        Route("/pulse/{survey_id}/export.csv", pulse.pulse_export, name="pulse_export"),
        Route("/updates", updates.updates_index, name="updates"),
        Route("/updates/{update_id}", updates.update_detail, name="update"),
        Route("/updates/{update_id}/remind", updates.update_remind, methods=["POST"]),
        Route("/updates/{update_id}/edit", updates.update_edit, methods=["POST"]),
        Route("/updates/{update_id}/recall", updates.update_recall, methods=["POST"]),
        Route("/playbook", playbook.playbook, name="playbook"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders, allowed_origins=own_origins(deps.base_url))],
        exception_handlers={404: _not_found},
    )
    app.state.deps = deps
    return app


def standalone(deps: ConsoleDeps) -> Starlette:
    """The console on its own server (Socket Mode deployments): /console, / and /health."""

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def to_console(request: Request) -> RedirectResponse:
        return RedirectResponse(MOUNT + "/", 307)

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/", to_console),
            Mount(MOUNT, build_console(deps)),
        ]
    )
