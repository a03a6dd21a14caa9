"""Signing in and out: the magic link from Slack, 'Sign in with Slack', sign-out.

A link opened in the browser first shows a button; only pressing it uses the link up.
Link previews and mail scanners open URLs on their own, and must not spend a
single-use link before its owner can.
"""

from __future__ import annotations

import re
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.console.auth import LINK, SLACK, LinkRefused
from bot.console.oidc import OpenIdRefused
from bot.console.web import (
    COOKIE,
    STATE_COOKIE,
    action,
    clear_cookie,
    client_address,
    deps_of,
    display_name,
    href,
    read_form,
    render,
    safe_next,
    set_session_cookie,
    viewer_of,
)

PAGE = re.compile(r"(/[A-Za-z0-9_-]+)+")
WHY = {
    "invalid": "This sign-in link is not valid (it may have been cut off when it was copied).",
    "expired": "This sign-in link has expired: links work for 10 minutes.",
    "used": "This sign-in link has already been used: each link works once.",
    "no role": (
        "Your Slack account has no role in the console (HR, leader or change team), "
        "so there is nothing to show you. Ask the change team to add you."
    ),
    "other workspace": "That Slack account belongs to another workspace.",
}


def sign_in_page(request: Request) -> Response:
    viewer = viewer_of(request)
    if viewer is not None and viewer.roles:
        return RedirectResponse(safe_next(request, request.query_params.get("next")), 303)
    reason = request.query_params.get("why", "")
    return render(
        request,
        "signin.html",
        viewer=None,
        problem=WHY.get(reason, ""),
        next=request.query_params.get("next", ""),
    )


def link_page(request: Request) -> Response:
    """GET of a link: check it and ask for the click that uses it up."""
    deps = deps_of(request)
    token = request.query_params.get("token", "")
    try:
        user_id, _, _ = deps.sign_in.read_link(token)
    except LinkRefused as refused:
        return render(
            request, "signin.html", viewer=None, status=400, problem=WHY[refused.reason], next=""
        )
    return render(
        request,
        "link.html",
        viewer=None,
        token=token,
        to=request.query_params.get("to", ""),
        name=display_name(deps, user_id),
    )


async def redeem_link(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_redeem, request, form.get("token", ""), form.get("to", ""))


def _redeem(request: Request, token: str, to: str = "") -> Response:
    deps = deps_of(request)
    address = client_address(request)
    try:
        user_id = deps.sign_in.redeem_link(token)
    except LinkRefused as refused:
        deps.sign_in.audit(refused.user_id, LINK, f"refused: {refused.reason}", address=address)
        return render(
            request, "signin.html", viewer=None, status=400, problem=WHY[refused.reason], next=""
        )
    return _start(request, user_id, LINK, to=to)


def _start(request: Request, user_id: str, method: str, *, to: str = "") -> Response:
    deps = deps_of(request)
    address = client_address(request)
    if not deps.roles.roles_of(user_id):
        deps.sign_in.audit(user_id, method, "refused: no role", address=address)
        return render(
            request, "signin.html", viewer=None, status=403, problem=WHY["no role"], next=""
        )
    token, _ = deps.sign_in.start_session(user_id, method, address=address)
    # `to` came with the link (e.g. "/pulse"): a plain path inside the console, or home.
    target = href(request, to if PAGE.fullmatch(to or "") else "/")
    response = RedirectResponse(target, 303)
    set_session_cookie(request, response, token, max_age=int(deps.sign_in.lifetime.total_seconds()))
    clear_cookie(request, response, STATE_COOKIE)
    return response


def slack_start(request: Request) -> Response:
    """'Sign in with Slack': off to Slack's authorize page, with a state and nonce cookie."""
    deps = deps_of(request)
    if deps.openid is None:
        return RedirectResponse(href(request, "/sign-in"), 303)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    url = deps.openid.authorize_url(
        redirect_uri=f"{deps.base_url}/sign-in/slack/callback", state=state, nonce=nonce
    )
    response = RedirectResponse(url, 303)
    response.set_cookie(
        STATE_COOKIE,
        f"{state}.{nonce}",
        max_age=600,
        path=(request.scope.get("root_path", "").rstrip("/") or "/"),
        httponly=True,
        samesite="lax",
        secure=deps.secure_cookies,
    )
    return response


def slack_callback(request: Request) -> Response:
    deps = deps_of(request)
    address = client_address(request)
    if deps.openid is None:
        return RedirectResponse(href(request, "/sign-in"), 303)
    state, _, nonce = request.cookies.get(STATE_COOKIE, "").partition(".")
    given = request.query_params.get("state", "")
    code = request.query_params.get("code", "")
    if not state or not code or not secrets.compare_digest(state, given):
        deps.sign_in.audit("", SLACK, "refused: bad state", address=address)
        return render(
            request,
            "signin.html",
            viewer=None,
            status=400,
            problem="That sign-in did not start here or took too long; try again.",
            next="",
        )
    try:
        who = deps.openid.identify(
            code=code, redirect_uri=f"{deps.base_url}/sign-in/slack/callback", nonce=nonce
        )
    except OpenIdRefused as refused:
        deps.sign_in.audit(refused.user_id, SLACK, f"refused: {refused.reason}", address=address)
        problem = WHY.get(refused.reason, "Slack did not confirm who you are; try again.")
        return render(request, "signin.html", viewer=None, status=403, problem=problem, next="")
    return _start(request, who.user_id, SLACK)


@action()
def sign_out(request: Request, deps, viewer, form) -> Response:
    deps.sign_in.sign_out(request.cookies.get(COOKIE), address=client_address(request))
    response = RedirectResponse(href(request, "/sign-in"), 303)
    clear_cookie(request, response)
    return response
