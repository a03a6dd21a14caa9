"""Tests for the local Slack Web API emulator, driven through a real slack_sdk WebClient."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
from slack_emulator import SlackEmulator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator


@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(slack: SlackEmulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.base_url, timeout=10)


def test_base_url_and_auth_test(slack: SlackEmulator, client: WebClient) -> None:
    assert slack.base_url == f"http://127.0.0.1:{slack.port}/api/"
    response = client.auth_test()
    assert response["user_id"] == "UBOT"
    assert response["bot_id"] == "BBOT"
    assert response["team_id"] == "T111"
    call = slack.calls[0]
    assert call.method == "auth.test"
    assert call.headers["Authorization"] == "Bearer xoxb-test"
    assert call.status == 200 and call.ok


def test_post_and_replies_round_trip(slack: SlackEmulator, client: WebClient) -> None:
    metadata = {"event_type": "pulse", "event_payload": {"survey": 7}}
    parent = client.chat_postMessage(channel="C1", text="parent", metadata=metadata)
    assert parent["channel"] == "C1"
    assert parent["message"]["user"] == "UBOT"
    assert parent["message"]["bot_id"] == "BBOT"
    reply1 = client.chat_postMessage(channel="C1", text="one", thread_ts=parent["ts"])
    reply2 = client.chat_postMessage(channel="C1", text="two", thread_ts=parent["ts"])
    assert reply1["message"]["thread_ts"] == parent["ts"]
    assert float(parent["ts"]) < float(reply1["ts"]) < float(reply2["ts"])

    thread = client.conversations_replies(channel="C1", ts=parent["ts"])["messages"]
    assert [m["text"] for m in thread] == ["parent", "one", "two"]
    assert thread[0]["reply_count"] == 2

    later = client.chat_postMessage(channel="C1", text="later")
    history = client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["later", "parent"]  # no replies
    assert history["messages"][1]["metadata"] == metadata
    plain = client.conversations_history(channel="C1", oldest=parent["ts"], limit=5)
    assert [m["text"] for m in plain["messages"]] == ["later"]
    assert "metadata" not in client.conversations_history(channel="C1")["messages"][1]
    assert later["ts"] == slack.state.messages["C1"][-1]["ts"]


def test_chat_update_and_delete(slack: SlackEmulator, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="draft")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "final"}}]
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="final", blocks=blocks)
    assert updated["ts"] == posted["ts"]
    stored = slack.state.messages["C1"][0]
    assert stored["text"] == "final"
    assert stored["blocks"] == blocks

    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="C1", ts="1.000000", text="x")
    assert missing.value.response["error"] == "message_not_found"

    client.chat_delete(channel="C1", ts=posted["ts"])
    assert slack.state.messages["C1"] == []
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_delete(channel="C1", ts=posted["ts"])


def test_channel_errors(slack: SlackEmulator, client: WebClient) -> None:
    slack.missing_channels.add("CGONE")
    slack.not_in_channels.add("COUT")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client.chat_postMessage(channel="CGONE", text="hi")
    with pytest.raises(SlackApiError, match="not_in_channel"):
        client.chat_postMessage(channel="COUT", text="hi")
    assert [c.error for c in slack.calls] == ["channel_not_found", "not_in_channel"]
    assert slack.successful_calls("chat.postMessage") == []


def test_rate_limit_is_retried_after_retry_after(slack: SlackEmulator) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", status=429, retry_after=1)

    started = time.monotonic()
    response = client.chat_postMessage(channel="C1", text="hello")
    elapsed = time.monotonic() - started

    assert response["ok"]
    assert elapsed >= 0.95
    attempts = slack.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[0].error == "ratelimited"
    assert attempts[1].time - attempts[0].time >= 0.95
    assert len(slack.successful_calls("chat.postMessage")) == 1
    assert len(slack.state.messages["C1"]) == 1


def test_rate_limit_without_handler_raises(slack: SlackEmulator, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", retry_after=7)  # 429 is the default
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C1", text="hello")
    response = raised.value.response
    assert response.status_code == 429
    assert response["error"] == "ratelimited"
    assert response.headers["Retry-After"] == "7"
    assert "C1" not in slack.state.messages
    client.chat_postMessage(channel="C1", text="hello")  # only the next call failed


def test_server_error_is_retried(slack: SlackEmulator) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    quick = FixedValueRetryIntervalCalculator(fixed_internal=0.05)  # sic: slack_sdk's spelling
    client.retry_handlers.append(
        ServerErrorRetryHandler(max_retry_count=2, interval_calculator=quick)
    )
    slack.fail_next("users.info", status=500, times=2)
    slack.users["U1"] = {"real_name": "Ada"}

    assert client.users_info(user="U1")["user"]["real_name"] == "Ada"
    assert [c.status for c in slack.calls_to("users.info")] == [500, 500, 200]


def test_server_error_without_handler_raises(slack: SlackEmulator, client: WebClient) -> None:
    slack.fail_next("auth.test", status=500)
    with pytest.raises(SlackApiError) as raised:
        client.auth_test()
    assert raised.value.response.status_code == 500


def test_ok_false_error_injection(slack: SlackEmulator, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", error="account_inactive", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            client.chat_postMessage(channel="C1", text="hi")
        assert raised.value.response.status_code == 200
        assert raised.value.response["error"] == "account_inactive"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.ok for c in slack.calls] == [False, False, True]


def test_delay_slows_answers(slack: SlackEmulator, client: WebClient) -> None:
    slack.delay("conversations.open", 0.3)
    started = time.monotonic()
    client.conversations_open(users="U1")
    assert time.monotonic() - started >= 0.3
    slack.delay("conversations.open", 0)
    started = time.monotonic()
    client.conversations_open(users="U1")
    assert time.monotonic() - started < 0.3


def test_files_upload_v2(slack: SlackEmulator, client: WebClient) -> None:
    response = client.files_upload_v2(
        content=b"\x89PNG fake", filename="x.png", channel="C1", initial_comment="chart"
    )
    file_id = response["file"]["id"]
    assert response["files"][0]["name"] == "x.png"
    assert response["file"]["size"] == len(b"\x89PNG fake")
    assert slack.state.uploads[file_id] == b"\x89PNG fake"
    url_call = slack.calls_to("files.getUploadURLExternal")[0]
    assert url_call.params["filename"] == "x.png"
    complete = slack.calls_to("files.completeUploadExternal")[0]
    assert complete.params["files"] == [{"id": file_id, "title": "x.png"}]  # decoded JSON
    shared = slack.state.messages["C1"][0]
    assert shared["text"] == "chart"
    assert shared["files"][0]["id"] == file_id


def test_form_and_json_bodies(slack: SlackEmulator, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]
    client.chat_postMessage(channel="C1", text="json", blocks=blocks)  # slack_sdk sends JSON
    client.api_call(  # form body with JSON-string fields, as older callers send it
        "chat.postMessage",
        data={"channel": "C1", "text": "form", "blocks": '[{"type": "divider"}]'},
    )
    client.conversations_history(channel="C1", limit=1)  # GET-style: query string params

    as_json, as_form = slack.calls_to("chat.postMessage")
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_json.params["blocks"] == blocks
    assert as_form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert as_form.params["blocks"] == [{"type": "divider"}]
    assert slack.state.messages["C1"][1]["blocks"] == [{"type": "divider"}]
    assert slack.calls_to("conversations.history")[0].params == {"channel": "C1", "limit": "1"}


def test_users_list_pagination(slack: SlackEmulator, client: WebClient) -> None:
    for n in range(5):
        slack.users[f"U{n}"] = {"real_name": f"User {n}", "profile": {"email": f"u{n}@x.org"}}

    first = client.users_list(limit=2)
    assert [u["id"] for u in first["members"]] == ["U0", "U1"]
    cursor = first["response_metadata"]["next_cursor"]
    assert cursor
    second = client.users_list(limit=2, cursor=cursor)
    assert [u["id"] for u in second["members"]] == ["U2", "U3"]

    # slack_sdk follows next_cursor itself (each page re-uses the same response object)
    pages = [[u["id"] for u in page["members"]] for page in client.users_list(limit=2)]
    assert pages == [["U0", "U1"], ["U2", "U3"], ["U4"]]
    assert [c.params.get("cursor") for c in slack.calls_to("users.list")[2:]] == [None, "2", "4"]
    with pytest.raises(SlackApiError, match="invalid_cursor"):
        client.users_list(cursor="garbage")
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.users_list(limit="many")


def test_users_info_defaults_and_unknown(slack: SlackEmulator, client: WebClient) -> None:
    slack.users["U1"] = {"tz": "Europe/Paris", "tz_offset": 3600, "profile": {"email": "a@x"}}
    user = client.users_info(user="U1")["user"]
    assert (user["id"], user["tz_offset"], user["profile"]["email"]) == ("U1", 3600, "a@x")
    assert user["deleted"] is False and user["is_bot"] is False
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U404")


def test_dm_open_and_dm_errors(slack: SlackEmulator, client: WebClient) -> None:
    assert client.conversations_open(users="U123")["channel"]["id"] == "DU123"
    assert client.conversations_open(users=["U123"])["channel"]["id"] == "DU123"
    slack.dm_errors["U9"] = "user_not_found"
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.conversations_open(users="U9")
    info = client.conversations_info(channel="DU123")["channel"]
    assert info["is_im"] and info["user"] == "U123"


def test_other_methods_smoke(slack: SlackEmulator, client: WebClient) -> None:
    slack.channel_members["C1"] = ["U1", "U2"]
    slack.usergroups["S1"] = {"handle": "data-team", "users": ["U1"]}
    assert client.conversations_members(channel="C1")["members"] == ["U1", "U2"]
    groups = client.usergroups_list(include_users=True)["usergroups"]
    assert groups == [
        {"id": "S1", "team_id": "T111", "name": "data-team", "handle": "data-team"}
        | {"user_count": 1, "users": ["U1"]}
    ]
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U1"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        client.usergroups_users_list(usergroup="S404")

    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert home["view"]["id"].startswith("V")
    assert slack.state.home_tabs["U1"]["type"] == "home"
    modal = client.views_open(trigger_id="t", view={"type": "modal", "title": {}, "blocks": []})
    updated = client.views_update(view_id=modal["view"]["id"], view={"type": "modal"})
    assert updated["view"]["id"] == modal["view"]["id"]
    assert client.views_push(trigger_id="t", view={"type": "modal"})["view"]["id"]

    posted = client.chat_postMessage(channel="C1", text="hi")
    client.reactions_add(channel="C1", timestamp=posted["ts"], name="eyes")
    assert slack.state.messages["C1"][0]["reactions"][0]["name"] == "eyes"
    link = client.chat_getPermalink(channel="C1", message_ts=posted["ts"])["permalink"]
    assert link.endswith("/archives/C1/p" + posted["ts"].replace(".", ""))
    assert client.chat_postEphemeral(channel="C1", user="U1", text="psst")["message_ts"]
    assert slack.state.ephemerals[0]["text"] == "psst"

    status = client.assistant_threads_setStatus(channel_id="D1", thread_ts="1.0", status="busy")
    assert status.data == {"ok": True}
    client.assistant_threads_setSuggestedPrompts(
        channel_id="D1", thread_ts="1.0", prompts=[{"title": "a", "message": "b"}]
    )
    client.assistant_threads_setTitle(channel_id="D1", thread_ts="1.0", title="Q")
    assert slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params["prompts"] == [
        {"title": "a", "message": "b"}
    ]
    app_client = WebClient(token="xapp-1", base_url=slack.base_url)
    assert app_client.apps_connections_open(app_token="xapp-1")["url"] == "ws://127.0.0.1:1/"


def test_auth_and_unknown_method(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(base_url=slack.base_url).auth_test()
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(token="bogus", base_url=slack.base_url).auth_test()
    assert WebClient(base_url=slack.base_url).auth_test(token="xoxp-user")["ok"]
    with pytest.raises(SlackApiError, match="unknown_method"):
        WebClient(token="xoxb-test", base_url=slack.base_url).api_call("nope.nothing")
    assert [c.error for c in slack.calls] == ["not_authed", "not_authed", None, "unknown_method"]


def test_two_emulators_get_different_ports() -> None:
    with SlackEmulator() as one, SlackEmulator() as two:
        assert one.port != two.port
        WebClient(token="xoxb-test", base_url=one.base_url).auth_test()
        assert len(one.calls) == 1
        assert two.calls == []


def test_start_stop_without_context_manager() -> None:
    emulator = SlackEmulator().start()
    try:
        assert WebClient(token="xoxb-test", base_url=emulator.base_url).auth_test()["ok"]
    finally:
        emulator.stop()
    emulator.stop()  # idempotent


def test_wait_for_calls_from_another_thread(slack: SlackEmulator, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.2)
        client.chat_postMessage(channel="C1", text="async")

    threading.Thread(target=later).start()
    calls = slack.wait_for("chat.postMessage", timeout=5)
    assert calls[0].params["text"] == "async"


def test_wait_for_timeout_lists_recorded_methods(slack: SlackEmulator, client: WebClient) -> None:
    client.auth_test()
    client.conversations_open(users="U1")
    with pytest.raises(AssertionError) as raised:
        slack.wait_for("chat.postMessage", count=1, timeout=0.2)
    message = str(raised.value)
    assert "chat.postMessage" in message
    assert "['auth.test', 'conversations.open']" in message


def test_reset_forgets_calls_and_messages_but_keeps_fixtures(
    slack: SlackEmulator, client: WebClient
) -> None:
    slack.users["U1"] = {}
    slack.fail_next("auth.test", error="invalid_auth")
    client.chat_postMessage(channel="C1", text="hi")
    slack.reset()
    assert slack.calls == []
    assert slack.state.messages == {}
    assert client.auth_test()["ok"]  # pending failure was dropped too
    assert client.users_info(user="U1")["ok"]


def test_bolt_app_can_use_the_emulator(slack: SlackEmulator, client: WebClient) -> None:
    from slack_bolt import App

    app = App(client=client, signing_secret="secret")  # verifies the token with auth.test
    assert app.client.base_url == slack.base_url
    assert slack.calls_to("auth.test")


def test_chaos_fails_a_seeded_random_share_of_calls(
    slack: SlackEmulator, client: WebClient
) -> None:
    def statuses(count: int) -> list[int]:
        seen = []
        for n in range(count):
            try:
                client.conversations_open(users=f"U{n}")
                seen.append(200)
            except SlackApiError as exc:
                seen.append(exc.response.status_code)
                if exc.response.status_code == 429:
                    assert exc.response["error"] == "ratelimited"
                    assert exc.response.headers["Retry-After"] == "3"
                else:
                    assert exc.response["error"] == "internal_error"
        return seen

    slack.chaos("conversations.open", p429=0.2, p500=0.1, retry_after=3, seed=7)
    first = statuses(200)
    assert [c.status for c in slack.calls] == first
    assert 20 <= first.count(429) <= 60  # ~40 expected
    assert 8 <= first.count(500) <= 35  # ~20 expected
    assert client.auth_test()["ok"]  # other methods are untouched

    slack.reset()  # forgets chaos like the other injected failures
    assert statuses(5) == [200] * 5
    slack.chaos("conversations.open", p429=0.2, p500=0.1, retry_after=3, seed=7)
    assert statuses(200) == first  # same seed, same sequence
    slack.chaos("conversations.open")  # all zero clears it
    assert statuses(20) == [200] * 20
    with pytest.raises(ValueError):
        slack.chaos("chat.postMessage", p429=0.8, p500=0.3)


def test_a_chat_stream_grows_one_message_and_refuses_appends_after_it_stops(
    slack: SlackEmulator, client: WebClient
) -> None:
    stream = client.chat_stream(channel="C1", thread_ts="1.000001", buffer_size=5)
    stream.append(markdown_text="Hello, ")
    stream.append(markdown_text="world")
    stream.stop(markdown_text="!", blocks=[{"type": "divider"}])
    [message] = [m for m in slack.state.messages["C1"] if "streaming" in m]
    assert message["text"] == "Hello, world!" and message["blocks"] == [{"type": "divider"}]
    with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
        client.chat_appendStream(channel="C1", ts=message["ts"], markdown_text="late")
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.chat_startStream(channel="C1", thread_ts="")
