"""manifest.yml creates a Slack app that can do what the code does, and no more."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

MANIFEST = Path(__file__).resolve().parents[3] / "manifest.yml"

# What the code calls and listens to -> the bot scope each needs (None: no scope needed).
WEB_API_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.update": "chat:write",
    "conversations.open": "im:write",
    "views.publish": None,
    "auth.test": None,  # Bolt's token check at start-up
    "conversations.replies": "im:history",  # Bolt's assistant thread-context store (DMs)
    "assistant.threads.setStatus": "assistant:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setTitle": "assistant:write",
    "chat.delete": "chat:write",  # broadcasts' recall, through the outbox
    "conversations.history": "im:history",  # the outbox checks a DM before resending
    "views.open": None,  # the pulse survey modal
    "files.getUploadURLExternal": "files:write",  # /pulse results chart, /pulse export CSV
    "files.completeUploadExternal": "files:write",
    "usergroups.users.list": "usergroups:read",  # audiences and the HR role
    "users.list": "users:read",  # changebot directory sync
    "users.list (emails)": "users:read.email",  # to match the people CSV by email
    "users.info": "users:read",  # a leader's time zone when the directory has no entry
    "usergroups.list": "usergroups:read",  # the /broadcast modal's user group choices
    "conversations.info": "channels:read",  # /broadcast: is the bot in the chosen channel?
    "conversations.info (private)": "groups:read",
    "conversations.history (channels)": "channels:history",  # outbox check of channel posts
    "conversations.history (private)": "groups:history",
    "conversations.members": "channels:read",  # who may write the playbook's answers
    "conversations.members (private)": "groups:read",  # ... in a private change-team channel
    "conversations.replies (channels)": "channels:history",  # the reply "Save as playbook answer"
    "conversations.replies (private)": "groups:history",  # ... prefills
}
EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.im": "im:history",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "app_home_opened": None,
    "app_context_changed": None,  # the agent view
    # Workspaces that installed the app before the agent view still send these.
    "assistant_thread_started": "assistant:write",
    "assistant_thread_context_changed": "assistant:write",
}
COMMAND_SCOPES = {"/ask": "commands", "/pulse": "commands", "/broadcast": "commands"}
REQUIRED_EVENTS = {"app_mention", "message.im", "app_home_opened", "app_context_changed"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def needed_scopes() -> set[str]:
    tables = (WEB_API_SCOPES, EVENT_SCOPES, COMMAND_SCOPES)
    return {scope for table in tables for scope in table.values() if scope}


def test_manifest_names_the_app(manifest):
    assert manifest["display_information"]["name"]
    assert manifest["features"]["bot_user"]["display_name"]


def test_manifest_has_the_ask_command(manifest):
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == set(COMMAND_SCOPES)
    assert commands["/ask"]["description"]


def test_socket_mode_and_interactivity_are_on(manifest):
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True  # the feedback / escalate buttons


def test_home_tab_and_messages_tab_are_on(manifest):
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False  # people DM the bot


def test_bot_events_include_what_the_listeners_handle(manifest):
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert len(events) == len(set(events))
    assert set(events) >= REQUIRED_EVENTS
    assert set(events) <= set(EVENT_SCOPES), "an event no listener handles"


def test_every_subscribed_event_has_its_scope(manifest):
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in events:
        needed = EVENT_SCOPES[event]
        assert needed is None or needed in scopes, f"{event} needs {needed}"


def test_bot_scopes_are_exactly_what_the_code_uses(manifest):
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes))
    assert set(scopes) == needed_scopes()


def test_no_user_scopes_are_requested(manifest):
    assert not manifest["oauth_config"]["scopes"].get("user")


def test_the_messages_tab_is_the_agent_view_not_the_old_assistant_view(manifest):
    features = manifest["features"]
    assert "assistant_view" not in features
    assert features["agent_view"]["agent_description"]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "assistant_thread_started" not in events  # new installs get the agent view's events
