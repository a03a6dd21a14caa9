"""An LLM answer streams into Slack (chat.startStream / appendStream / stopStream) with its
citations checked at the end; an answer whose citations fail is replaced by the extractive
one, and the extractive path still posts whole."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from scenario import everything_said, settle
from slackbed import SIGNING_SECRET, TEAM_CHANNEL, BotServer, dm_event, mention_event

from bot.slack import streaming
from bot.slack.app import build_app

QUESTION = "<@UBOT> when does phase 1 run?"
GOOD = (
    "Phase 1 of the Orion programme runs from **3 March to 30 June 2026**, as the roadmap "
    "says; teams on the pilot models take part first and everyone else keeps working as "
    "today until the platform is ready for them [1]."
)


@pytest.fixture
def llm_bot(make_container, kb, slack, monkeypatch):
    monkeypatch.setattr(streaming, "PIECE", 40)  # several appends for one answer

    def start(reply: str):
        container = make_container(
            slack_bot_token="xoxb-test",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
            change_team_channel=TEAM_CHANNEL,
            workers=4,
            llm=GenericFakeChatModel(messages=iter([AIMessage(reply)])),
        )
        container.indexer.ingest(kb)
        server = BotServer(build_app(container)).__enter__()
        server.container, server.slack = container, slack
        started.append(server)
        return server

    started: list = []
    yield start
    for server in started:
        server.__exit__(None, None, None)


def _ask(bot, slack, text=QUESTION, event_id="EvStream1"):
    mention = mention_event(text, event_id=event_id)
    assert bot.send_event(mention)[0] == 200
    return mention["event"]["ts"]


def test_an_llm_answer_streams_in_pieces_and_ends_with_sources_and_feedback(llm_bot, slack):
    bot = llm_bot(GOOD)
    thread_ts = _ask(bot, slack)
    [stop] = slack.wait_for("chat.stopStream")
    [start] = slack.calls_to("chat.startStream")
    appends = slack.calls_to("chat.appendStream")
    assert (start.params["channel"], start.params["thread_ts"]) == ("C111", thread_ts)
    assert start.params["recipient_user_id"] == "U1"
    assert len(appends) >= 3  # the words arrived as they were written, not in one post
    assert start.time <= appends[0].time <= stop.time
    [message] = [m for m in slack.state.messages["C111"] if "streaming" in m]
    assert message["ts"] == stop.params["ts"]
    assert message["text"] == GOOD and message["streaming"] is False
    kinds = [block["type"] for block in stop.params["blocks"]]
    assert kinds == ["context", "actions", "context_actions"]  # sources, change team, 👍/👎
    assert "*Sources*" in stop.params["blocks"][0]["elements"][0]["text"]
    settle()
    assert not slack.calls_to("chat.postMessage")  # no second, whole copy
    assert not slack.calls_to("chat.update")


def test_a_bad_citation_mid_stream_is_replaced_by_the_extractive_answer(llm_bot, slack):
    bot = llm_bot("Phase 1 runs from 3 March to 30 June 2026 [1], with budget approval [7].")
    _ask(bot, slack, event_id="EvStream2")
    [update] = slack.wait_for("chat.update")
    assert slack.calls_to("chat.startStream") and slack.calls_to("chat.stopStream")
    assert slack.calls_to("chat.stopStream")[0].time <= update.time
    [message] = [m for m in slack.state.messages["C111"] if "streaming" in m]
    shown = everything_said(update)
    assert "[7]" not in shown and "budget approval" not in shown  # no broken text is left
    assert "3 March to 30 June 2026" in shown
    assert message["blocks"] == update.params["blocks"]
    settle()
    assert not slack.calls_to("chat.postMessage")


def test_streamed_words_are_escaped(llm_bot, slack):
    bot = llm_bot("Phase 1 runs 3 March to 30 June 2026 <!channel> <https://x.example|y> [1].")
    _ask(bot, slack, event_id="EvStream3")
    slack.wait_for("chat.stopStream")
    [message] = [m for m in slack.state.messages["C111"] if "streaming" in m]
    assert "<!channel>" not in message["text"] and "&lt;!channel&gt;" in message["text"]
    assert "<https://" not in message["text"]


def test_a_top_level_dm_and_an_extractive_answer_post_whole(llm_bot, slack):
    bot = llm_bot(GOOD)
    bot.send_event(dm_event("When does phase 1 run?", event_id="EvStream4"))  # no thread
    [post] = slack.wait_for("chat.postMessage")
    assert "3 March to 30 June 2026" in everything_said(post)
    bot.send_event(dm_event("what's for lunch in the canteen today?", event_id="EvStream5"))
    slack.wait_for("chat.postMessage", 2)
    settle()
    assert not slack.calls_to("chat.startStream")
