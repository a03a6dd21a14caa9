"""The console in a real browser (Debian's Chromium through Playwright), against the Slack
emulator: sign-in by the link the bot DMs, roles, the heatmap's hidden cells, crafted URLs,
CSRF, and a leader recalling an update from the console. Each main page is kept as a
screenshot under the test's tmp dir (`screenshots/`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from contextlib import ExitStack

import pytest
from broadcast_bed import CHANNEL, all_copies, send_update, wait_until
from browser_bed import AsgiServer, bound_socket, shot
from console_bed import CHANGE, HR, LEADER, SURVEY, console_settings, seed_pulse
from slackbed import SIGNING_SECRET, BotServer, command_fields

from bot.console.app import standalone
from bot.slack.app import build_app
from bot.timeutil import utcnow

pytestmark = pytest.mark.browser
LINK = re.compile(r"<(http://[^|>]+/sign-in/link\?token=[^|>]+)\|")


@pytest.fixture
def stack():
    with ExitStack() as resources:
        yield resources


@pytest.fixture
def console(stack, make_container, kb, slack, tmp_path):
    """The bot (Slack over HTTP, emulator) and the console on its own port, one container."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    slack.users.update({user: {"id": user, "real_name": name} for user, name in PEOPLE})
    slack.oidc_clients["123.456"] = "client-secret"
    container = make_container(
        **console_settings(
            console_url=f"http://127.0.0.1:{port}/console",
            slack_bot_token="xoxb-test",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
            slack_client_id="123.456",
            slack_client_secret="client-secret",
        )
    )
    container.indexer.ingest(kb)
    container.directory.sync([{"id": user, "real_name": name} for user, name in PEOPLE])
    seed_pulse(container, tmp_path)
    bot = stack.enter_context(BotServer(build_app(container)))
    server = stack.enter_context(AsgiServer(standalone(container.console_deps), sock))
    server.container, server.bot, server.slack = container, bot, slack
    return server


PEOPLE = [(HR, "Hana HR"), (LEADER, "Lea Leader"), (CHANGE, "Chen Change")]


def link_from_slack(server, command: str, user: str) -> str:
    """Type `/pulse console` (or `/broadcast console`) in Slack; the link from the DM."""
    seen = len(server.slack.calls_to("chat.postMessage"))
    status, _ = server.bot.send_command(command_fields("console", command=command, user=user))
    assert status == 200
    calls = server.slack.wait_for("chat.postMessage", seen + 1)
    dm = next(c for c in calls[seen:] if c.params["channel"] == f"D{user}")
    return LINK.search(dm.params["text"]).group(1)


def sign_in(page, server, user: str) -> None:
    page.goto(server.container.sign_in.issue_link(user))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/console/")


def test_a_link_from_slack_signs_hr_in_once_and_not_after_ten_minutes(browser, console):
    url = link_from_slack(console, "/pulse", HR)
    browser.goto(url)
    assert browser.get_by_role("heading", name="Sign in as Hana HR").is_visible()
    browser.get_by_role("button", name="Sign in").click()
    # `/pulse console` opens the Pulse page: the trend, the heatmap and the comments.
    browser.wait_for_url(f"{console.url}/console/pulse/{SURVEY}")
    assert browser.get_by_role("heading", name="Lighthouse change pulse").is_visible()
    for part in ("Resistance and Confidence", "Heatmap by department", "Comments"):
        assert browser.get_by_role("heading", name=part).is_visible()
    browser.get_by_role("link", name="changebot console").click()
    assert browser.get_by_role("heading", name="Hello, Hana HR").is_visible()
    shot(browser, "home")
    cookie = next(c for c in browser.context.cookies() if c["name"] == "changebot_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    browser.goto(url)  # the same link again
    assert "already been used" in browser.locator(".problem").inner_text()
    late = link_from_slack(console, "/pulse", HR)
    console.container.sign_in.clock = lambda: utcnow() + dt.timedelta(minutes=11)
    browser.context.clear_cookies()
    browser.goto(late)
    assert "has expired" in browser.locator(".problem").inner_text()
    assert browser.get_by_role("button", name="Sign in").count() == 0
    shot(browser, "sign-in-expired")


ROLE_PAGES = {
    HR: ({"pulse", "updates"}, {"playbook"}),
    LEADER: ({"updates"}, {"pulse", "playbook"}),
    CHANGE: ({"playbook"}, {"pulse", "updates"}),
}


def test_each_role_sees_its_pages_and_gets_403_on_the_others(browser, console):
    for user, (allowed, refused) in ROLE_PAGES.items():
        browser.context.clear_cookies()
        sign_in(browser, console, user)
        for name in allowed:
            response = browser.goto(f"{console.url}/console/{name}")
            assert response.status == 200, (user, name)
            nav = browser.get_by_role("navigation")
            assert nav.get_by_role("link", name=name.capitalize()).count() == 1
            shot(browser, f"{name}-as-{user}")
        for name in refused:
            response = browser.goto(f"{console.url}/console/{name}")
            assert response.status == 403, (user, name)
            assert browser.get_by_role("heading", name="This page is not for you").is_visible()
        shot(browser, f"forbidden-as-{user}")


def heat_row(page, group: str):
    return page.locator("table.heatmap tr", has=page.locator("th", has_text=group))


def test_the_heatmap_greys_the_4_person_cell_and_the_next_smallest(browser, console):
    sign_in(browser, console, HR)
    browser.goto(f"{console.url}/console/pulse/{SURVEY}")
    hidden = {"fewer than 5", "hidden"}
    legal = heat_row(browser, "Legal")
    assert set(legal.locator("td.suppressed").all_inner_texts()) <= hidden
    assert legal.locator("td.suppressed").count() == 7
    # The department Legal's four would be subtracted from is greyed too; the third is not.
    greyed = [
        name
        for name in ("Finance", "Operations")
        if heat_row(browser, name).locator("td.suppressed").count() == 7
    ]
    shown = [
        name
        for name in ("Finance", "Operations")
        if heat_row(browser, name).locator("td.suppressed").count() == 0
    ]
    assert len(greyed) == 1 and len(shown) == 1
    grey = legal.locator("td.suppressed").first.evaluate(
        "cell => getComputedStyle(cell).backgroundImage"
    )
    assert "repeating-linear-gradient" in grey  # striped, not just a colour
    assert browser.get_by_text("Barrier point:").is_visible()
    assert browser.locator("svg.chart").count() == 3  # participation, trend, ADKAR
    shot(browser, "pulse")


CRAFTED = ["?by=department&threshold=1", "?by=team", "?by=Department", "?run=-1", "?run=1%20OR%201"]


def test_a_crafted_query_string_or_export_cannot_reveal_a_suppressed_cell(browser, console):
    sign_in(browser, console, HR)
    base = f"{console.url}/console/pulse/{SURVEY}"
    for query in CRAFTED:
        response = browser.goto(base + query)
        assert response.status in (200, 400, 404)
        if heat_row(browser, "Legal").count():
            cells = set(heat_row(browser, "Legal").locator("td").all_inner_texts())
            assert cells <= {"fewer than 5", "hidden"}, query
        export = browser.context.request.get(f"{base}/export.csv{query}")
        if export.status == 200:
            for row in csv.reader(io.StringIO(export.text())):
                if row and row[0] == "Legal":
                    assert set(row[1:]) <= {"fewer than 5", "hidden"}, (query, row)


def test_a_form_without_the_csrf_token_or_from_another_site_is_refused(browser, console):
    container = console.container
    sign_in(browser, console, LEADER)
    from bot.broadcasts.service import Audience, Draft

    update, _ = container.broadcasts.create(
        Draft("V-csrf", LEADER, "Office move", "We move on Monday.", Audience(channels=("C9",)))
    )
    container.broadcasts.send(update.id)
    recall = f"{console.url}/console/updates/{update.id}/recall"
    forged = browser.context.request.post(recall, form={"confirm": "yes", "csrf": "forged"})
    assert forged.status == 403
    browser.set_content(
        f'<form method="post" action="{recall}"><input name="confirm" value="yes">'
        '<input name="csrf" value="x"><button>go</button></form>'
    )
    with browser.expect_navigation():
        browser.get_by_role("button", name="go").click()
    assert "Recalling" not in browser.content()
    assert container.broadcasts.get(update.id).status == "sent"


def test_sign_in_with_slack_through_openid_connect(browser, console):
    console.slack.oidc_user = HR
    browser.goto(f"{console.url}/console/sign-in")
    browser.get_by_role("link", name="Sign in with Slack").click()
    browser.wait_for_url(f"{console.url}/console/")
    assert browser.get_by_role("heading", name="Hello, Hana HR").is_visible()
    assert [c.method for c in console.slack.calls if c.method.startswith("openid")] == [
        "openid.connect.token",
        "openid.connect.userInfo",
    ]


def test_a_leader_recalls_an_update_from_the_console_and_slack_deletes_every_copy(
    start_leaders_bot, browser, stack
):
    sock = bound_socket()
    bot = start_leaders_bot(
        **console_settings(console_url=f"http://127.0.0.1:{sock.getsockname()[1]}/console")
    )
    server = stack.enter_context(AsgiServer(standalone(bot.container.console_deps), sock))
    server.container, server.bot, server.slack = bot.container, bot, bot.slack
    update_id = send_update(bot, departments=["Finance"], channels=[CHANNEL])
    assert all_copies(bot.slack, update_id)  # three DMs and the channel post
    browser.goto(link_from_slack(server, "/broadcast", LEADER))
    browser.get_by_role("button", name="Sign in").click()
    browser.get_by_role("navigation").get_by_role("link", name="Updates").click()
    browser.get_by_role("link", name="MLOps platform go-live moves to 9 March").click()
    assert browser.get_by_text("Delivered").first.is_visible()
    shot(browser, "update")
    browser.get_by_label("Yes, delete every copy").check()
    browser.get_by_role("button", name="Recall the update").click()
    assert "Recalling: deleting 4 delivered copies." in browser.locator(".notice").inner_text()
    bot.container.delivery_worker.drain(timeout=10)
    wait_until(lambda: not all_copies(bot.slack, update_id), what="every copy deleted")
    assert len(bot.slack.successful_calls("chat.delete")) == 4
    shot(browser, "update-recalled")
