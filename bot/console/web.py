"""The console's request plumbing: who is looking, role gates, CSRF, templates, headers.

Every page handler is wrapped by `page(...)` (GET) or `action(...)` (POST): the session
cookie is read, the person's roles are asked afresh (a role taken away in Slack closes
the console on the next click), and a POST must carry the session's CSRF token.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.console.auth import Visitor
from bot.console.deps import ROLE_NAMES, ConsoleDeps

HERE = Path(__file__).resolve().parent
COOKIE = "changebot_console"
STATE_COOKIE = "changebot_console_oidc"
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # A sign-in link carries its token in the URL: never hand it to another site as a
    # Referer. (Not "no-referrer": browsers then send `Origin: null` on our own forms.)
    (b"referrer-policy", b"same-origin"),
]

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,  # everything that is not ours is escaped; no template uses |safe
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person looking at a page."""

    visitor: Visitor
    roles: frozenset[str]
    name: str

    @property
    def user_id(self) -> str:
        return self.visitor.user_id


def deps_of(request: Request) -> ConsoleDeps:
    return request.app.state.deps


def root(request: Request) -> str:
    """The path the console is mounted at ('' or '/console')."""
    return request.scope.get("root_path", "").rstrip("/")


def href(request: Request, path: str, **query) -> str:
    kept = {key: value for key, value in query.items() if value not in (None, "")}
    return root(request) + path + (f"?{urlencode(kept)}" if kept else "")


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def display_name(deps: ConsoleDeps, user_id: str) -> str:
    return deps.directory.display_name(user_id)


def render(
    request: Request, template: str, *, viewer: Viewer | None, status: int = 200, **context
) -> HTMLResponse:
    deps = deps_of(request)
    html = _environment.get_template(template).render(
        request=request,
        viewer=viewer,
        root=root(request),
        href=functools.partial(href, request),
        q=quote,
        role_names=ROLE_NAMES,
        openid=deps.openid is not None,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def viewer_of(request: Request) -> Viewer | None:
    """The signed-in person, with roles asked now; None when not signed in."""
    deps = deps_of(request)
    visitor = deps.sign_in.visitor(request.cookies.get(COOKIE))
    if visitor is None:
        return None
    roles = deps.roles.roles_of(visitor.user_id)
    return Viewer(visitor, roles, display_name(deps, visitor.user_id))


def forbidden(request: Request, viewer: Viewer, needed: tuple[str, ...]) -> HTMLResponse:
    return render(request, "forbidden.html", viewer=viewer, status=403, needed=needed)


def not_found(request: Request, viewer: Viewer | None, message: str, status: int = 404):
    return render(request, "error.html", viewer=viewer, status=status, message=message)


def page(*roles: str):
    """A GET page for people with any of `roles` (none given: anyone signed in).

    The handler runs in a worker thread: handler(request, deps, viewer) -> Response.
    """

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            def run() -> Response:
                viewer = viewer_of(request)
                if viewer is None:
                    target = request.url.path + (
                        f"?{request.url.query}" if request.url.query else ""
                    )
                    return RedirectResponse(href(request, "/sign-in", next=target), 303)
                if roles and not viewer.roles & set(roles):
                    return forbidden(request, viewer, roles)
                return handler(request, deps_of(request), viewer)

            return await run_in_threadpool(run)

        return endpoint

    return wrap


def action(*roles: str):
    """A POST for people with any of `roles`; refused with 403 without the session's CSRF token.

    handler(request, deps, viewer, form) -> Response, run in a worker thread.
    """

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            # Who is asking first: a stranger's POST is refused before its body is parsed.
            viewer = await run_in_threadpool(viewer_of, request)
            if viewer is None:
                return render(
                    request,
                    "error.html",
                    viewer=None,
                    status=403,
                    message=(
                        "You are not signed in (or your sign-in has expired), so nothing was done."
                    ),
                )
            fields = await read_form(request)
            if not hmac.compare_digest(fields.get("csrf", ""), viewer.visitor.csrf):
                return render(
                    request,
                    "error.html",
                    viewer=viewer,
                    status=403,
                    message=(
                        "This form is out of date or did not come from the console, so "
                        "nothing was done. Reload the page and try again."
                    ),
                )
            if roles and not viewer.roles & set(roles):
                return forbidden(request, viewer, roles)
            return await run_in_threadpool(handler, request, deps_of(request), viewer, fields)

        return endpoint

    return wrap


async def read_form(request: Request) -> dict[str, str]:
    """The form's text fields; no files, few fields, small parts (ours are a few KB)."""
    form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def set_session_cookie(request: Request, response: Response, token: str, *, max_age: int) -> None:
    deps = deps_of(request)
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path=root(request) or "/",
        httponly=True,
        samesite="lax",
        secure=deps.secure_cookies,
    )


def clear_cookie(request: Request, response: Response, name: str = COOKIE) -> None:
    response.delete_cookie(name, path=root(request) or "/")


def safe_next(request: Request, target: str | None) -> str:
    """Where to go after signing in: a path inside the console, never another site."""
    base = root(request)
    if target and target.startswith(base + "/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return base + "/"


class SecurityHeaders:
    """ASGI middleware: the headers above on every response; a cross-site POST is refused.

    Browsers send `Origin` with every form POST: our own origin from our pages, another
    site's (or `null`, from a sandboxed or data: page) otherwise. Clients that send none
    are not browsers and still need the session's CSRF token.
    """

    def __init__(self, app, *, allowed_origins: Callable[[dict], set[str]]) -> None:
        self.app = app
        self.allowed_origins = allowed_origins

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST":
            origin = _header(scope, b"origin")
            if origin and origin not in self.allowed_origins(scope):
                response = Response("cross-site form refused", 403, media_type="text/plain")
                await response(scope, receive, send)
                return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def own_origins(base_url: str) -> Callable[[dict], set[str]]:
    """The console's public origin and the origin the request was addressed to."""
    public = urlsplit(base_url)

    def allowed(scope) -> set[str]:
        host = _header(scope, b"host")
        scheme = scope.get("scheme", "http")
        return {f"{public.scheme}://{public.netloc}", f"{scheme}://{host}"}

    return allowed
