"""'Sign in with Slack' (OpenID Connect), offered when the app's client id and secret are set.

The browser goes to Slack's authorize page and comes back with a code; the server
exchanges it with `openid.connect.token` and reads who it is with
`openid.connect.userInfo`. The id token comes straight from Slack over the back channel,
so its signature is not checked again; its nonce and audience are. A person from
another workspace is refused.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

SCOPES = "openid profile"


class OpenIdRefused(Exception):
    """Slack did not vouch for this person; `reason` goes to the audit and the page."""

    def __init__(self, reason: str, user_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id


@dataclass(frozen=True)
class SlackIdentity:
    user_id: str
    team_id: str
    name: str


def authorize_endpoint(api_url: str) -> str:
    """Slack's authorize page, next to the Web API (https://slack.com/openid/connect/authorize)."""
    return urljoin(
        api_url if api_url.endswith("/") else api_url + "/", "../openid/connect/authorize"
    )


class SlackOpenId:
    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        api_url: str,
        team_id: Callable[[], str | None],
        timeout: int = 10,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_url = api_url
        self.team_id = team_id
        self.timeout = timeout

    def authorize_url(self, *, redirect_uri: str, state: str, nonce: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "scope": SCOPES,
                "client_id": self.client_id,
                "state": state,
                "nonce": nonce,
                "redirect_uri": redirect_uri,
            }
        )
        return f"{authorize_endpoint(self.api_url)}?{query}"

    def identify(self, *, code: str, redirect_uri: str, nonce: str) -> SlackIdentity:
        """Exchange the code and read the person; OpenIdRefused when anything is off."""
        client = WebClient(base_url=self.api_url, timeout=self.timeout)
        try:
            tokens = client.openid_connect_token(
                client_id=self.client_id,
                client_secret=self.client_secret,
                code=code,
                redirect_uri=redirect_uri,
            )
            claims = _claims(tokens.get("id_token") or "")
            if claims.get("nonce") != nonce or claims.get("aud") not in (None, self.client_id):
                raise OpenIdRefused("bad nonce")
            info = WebClient(
                token=tokens["access_token"], base_url=self.api_url, timeout=self.timeout
            ).openid_connect_userInfo()
        except SlackApiError as exc:
            raise OpenIdRefused(f"slack: {exc.response.get('error', 'error')}") from exc
        user_id = info.get("https://slack.com/user_id") or info.get("sub") or ""
        team_id = info.get("https://slack.com/team_id") or ""
        if not user_id:
            raise OpenIdRefused("no user")
        ours = self.team_id()
        if ours and team_id != ours:
            raise OpenIdRefused("other workspace", user_id)
        return SlackIdentity(user_id, team_id, info.get("name") or "")


def _claims(id_token: str) -> dict:
    """The payload of a JWT, unverified (see the module docstring)."""
    try:
        payload = id_token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise OpenIdRefused("bad id token") from None
