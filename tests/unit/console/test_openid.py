"""'Sign in with Slack' (OpenID Connect) against the local Slack emulator: the code exchange,
the user info, a forged state, another workspace, a person without a role."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from console_bed import HR, NOBODY, console_settings
from starlette.testclient import TestClient

from bot.console.app import standalone
from bot.store.models import ConsoleSignIn

BASE = "http://localhost:8080"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _authorize(url: str) -> str:
    """The browser's visit to Slack's authorize page: where Slack sends it back."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(url, timeout=5)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        return redirect.headers["Location"]
    raise AssertionError("the authorize page did not redirect")


@pytest.fixture
def web(make_container, slack):
    slack.oidc_clients["123.456"] = "client-secret"
    slack.users[HR] = {"id": HR, "real_name": "Hana HR"}
    container = make_container(
        **console_settings(
            slack_client_id="123.456",
            slack_client_secret="client-secret",
            slack_api_url=slack.base_url,
            slack_bot_token="xoxb-test",
        )
    )
    client = TestClient(standalone(container.console_deps), base_url=BASE)
    client.container = container
    return client


def _sign_in_with_slack(web, slack, user: str, *, state: str | None = None):
    slack.oidc_user = user
    start = web.get("/console/sign-in/slack", follow_redirects=False)
    assert start.status_code == 303
    back = urlsplit(_authorize(start.headers["location"]))
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    if state is not None:
        query["state"] = state
    return web.get(back.path, params=query, follow_redirects=False)


def test_sign_in_with_slack_uses_openid_connect_token_and_user_info(web, slack):
    assert "Sign in with Slack" in web.get("/console/sign-in").text
    response = _sign_in_with_slack(web, slack, HR)
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    assert web.get("/console/pulse", follow_redirects=False).status_code in (200, 303)
    assert "Hello" in web.get("/console/").text
    methods = [call.method for call in slack.calls if call.method.startswith("openid")]
    assert methods == ["openid.connect.token", "openid.connect.userInfo"]
    with web.container.session_factory() as session:
        rows = [(r.user_id, r.method, r.outcome) for r in session.query(ConsoleSignIn)]
    assert rows == [(HR, "slack", "signed in")]


def test_a_callback_with_another_state_is_refused(web, slack):
    response = _sign_in_with_slack(web, slack, HR, state="forged")
    assert response.status_code == 400
    assert "changebot_console=" not in response.headers.get("set-cookie", "")
    assert not slack.calls_to("openid.connect.token")


def test_someone_from_another_workspace_is_refused(web, slack):
    slack.oidc_team = "TOTHER"
    response = _sign_in_with_slack(web, slack, HR)
    assert response.status_code == 403 and "another workspace" in response.text


def test_someone_without_a_role_is_refused(web, slack):
    slack.users[NOBODY] = {"id": NOBODY}
    response = _sign_in_with_slack(web, slack, NOBODY)
    assert response.status_code == 403 and "no role" in response.text


def test_without_client_credentials_there_is_no_slack_button(make_container):
    container = make_container(**console_settings())
    web = TestClient(standalone(container.console_deps), base_url=BASE)
    assert "Sign in with Slack" not in web.get("/console/sign-in").text
    assert web.get("/console/sign-in/slack", follow_redirects=False).status_code == 303
