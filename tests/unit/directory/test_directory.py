"""The employee directory on SQLite and PostgreSQL: Slack sync through the local emulator
(pagination, bots, deleted users, guests, people who left) and HR's CSV import."""

from __future__ import annotations

import ast
import datetime as dt
import itertools
from pathlib import Path

import pytest
from conftest import FrozenClock, as_utc
from slack_emulator import SlackEmulator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

import bot.directory.service
from bot.directory import Directory, DirectoryImportError
from bot.slack.directory_source import fetch_users, usergroup_members
from bot.store.db import make_session_factory

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
CROWD = 450  # more than two pages of 200


def member(user_id: str, name: str, **extra) -> dict:
    """A users.list member as the emulator fills it in (tz UTC unless given)."""
    email = extra.pop("email", f"{name.split()[0]}@Example.com")
    return {"id": user_id, "real_name": name, "profile": {"email": email}, **extra}


def crowd(count: int = CROWD) -> dict[str, dict]:
    return {
        f"U{i:04d}": member(f"U{i:04d}", f"Person{i} Test", tz="Europe/Amsterdam")
        for i in range(count)
    }


# The mixed workspace most tests use: three employees, and everyone the directory skips.
STAFF = {
    "UANA": member("UANA", "Ana Lima", tz="Europe/Lisbon"),
    "UBEN": member("UBEN", "Ben Okafor", tz="America/New_York"),
    "UCAT": member("UCAT", "Cat Novak", tz=None, email="  CAT.Novak@Example.COM "),
}
OTHERS = {
    "USLACKBOT": member("USLACKBOT", "Slackbot", email=""),
    "UBOT": member("UBOT", "Deploy bot", is_bot=True, email=""),
    "UAPP": member("UAPP", "Some app", is_app_user=True, email=""),
    "UGONE": member("UGONE", "Gus Left", deleted=True),
    "UGST": member("UGST", "Gia Guest", is_restricted=True),
    "UGST2": member("UGST2", "Hal Single", is_ultra_restricted=True),
}


@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(slack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack.base_url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def sessions(db_engine):
    return make_session_factory(db_engine)


@pytest.fixture
def make_directory(sessions, clock):
    def build(**kwargs) -> Directory:
        return Directory(session_factory=sessions, clock=clock, **kwargs)

    return build


@pytest.fixture
def directory(make_directory) -> Directory:
    return make_directory()


@pytest.fixture
def synced(directory, slack, client) -> Directory:
    """The mixed workspace, synced once."""
    slack.users.update(STAFF | OTHERS)
    directory.sync(fetch_users(client))
    return directory


def ids(people) -> list[str]:
    return [person.user_id for person in people]


# -- sync ------------------------------------------------------------------------------------
def test_sync_pages_through_the_whole_member_list(directory, slack, client):
    slack.users.update(crowd())

    report = directory.sync(fetch_users(client))

    assert (report.added, report.updated, report.deactivated, report.skipped) == (CROWD, 0, 0, {})
    assert len(directory.active_people()) == CROWD
    calls = slack.calls_to("users.list")
    assert [c.params.get("cursor", "") for c in calls] == ["", "200", "400"]
    assert {c.params["limit"] for c in calls} == {"200"}
    person = directory.get("U0449")
    assert (person.real_name, person.email, person.tz) == (
        "Person449 Test",
        "person449@example.com",
        "Europe/Amsterdam",
    )
    assert as_utc(person.synced_at) == T0


def test_sync_skips_bots_deleted_app_users_and_guests(directory, slack, client):
    slack.users.update(STAFF | OTHERS)

    report = directory.sync(fetch_users(client))

    assert report.added == 3
    assert report.skipped == {"app_user": 1, "bot": 2, "deleted": 1, "guest": 2}
    assert ids(directory.active_people()) == ["UANA", "UBEN", "UCAT"]
    assert directory.get("UBOT") is None
    assert directory.get("UGST") is None


def test_sync_includes_guests_when_asked(make_directory, slack, client):
    slack.users.update(STAFF | OTHERS)
    directory = make_directory(include_guests=True)

    report = directory.sync(fetch_users(client))

    assert report.added == 5
    assert report.skipped == {"app_user": 1, "bot": 2, "deleted": 1}
    assert ids(directory.active_people()) == ["UANA", "UBEN", "UCAT", "UGST", "UGST2"]
    assert directory.get("UGST").is_guest and directory.get("UGST2").is_guest
    assert not directory.get("UANA").is_guest


def test_guests_become_inactive_when_the_setting_is_turned_off(make_directory, slack, client):
    slack.users.update(STAFF | OTHERS)
    make_directory(include_guests=True).sync(fetch_users(client))

    report = make_directory(include_guests=False).sync(fetch_users(client))

    assert report.deactivated == 2
    assert ids(make_directory().active_people()) == ["UANA", "UBEN", "UCAT"]


def test_resync_after_people_left_makes_them_inactive(synced, slack, client, clock):
    del slack.users["UBEN"]  # no longer returned at all
    slack.users["UCAT"] = {**STAFF["UCAT"], "deleted": True}  # deactivated in Slack
    clock.advance(days=1)

    report = synced.sync(fetch_users(client))

    assert (report.added, report.updated, report.deactivated, report.unchanged) == (0, 0, 2, 1)
    assert ids(synced.active_people()) == ["UANA"]
    ben = synced.get("UBEN")
    assert ben is not None and not ben.active  # kept, for the history of past runs
    assert as_utc(ben.updated_at) == T0 + dt.timedelta(days=1)
    assert ids(synced.by_user_ids(["UANA", "UBEN", "UCAT"])) == ["UANA"]


def test_someone_who_comes_back_is_active_again(synced, slack, client):
    del slack.users["UBEN"]
    synced.sync(fetch_users(client))
    slack.users["UBEN"] = STAFF["UBEN"]

    report = synced.sync(fetch_users(client))

    assert (report.added, report.updated, report.deactivated) == (0, 1, 0)
    assert synced.get("UBEN").active


def test_slack_changes_are_updated_and_csv_attributes_survive(synced, slack, client, clock):
    synced.import_csv("email,department,team,location\nana@example.com,Finance,FP&A,Lisbon\n")
    slack.users["UANA"] = member("UANA", "Ana Lima-Santos", tz="Europe/Paris", email="ana@x.org")
    clock.advance(hours=1)

    report = synced.sync(fetch_users(client))

    assert (report.added, report.updated, report.unchanged) == (0, 1, 2)
    ana = synced.get("UANA")
    assert (ana.real_name, ana.email, ana.tz) == ("Ana Lima-Santos", "ana@x.org", "Europe/Paris")
    assert (ana.department, ana.team, ana.location) == ("Finance", "FP&A", "Lisbon")
    assert as_utc(ana.synced_at) == as_utc(ana.updated_at) == T0 + dt.timedelta(hours=1)
    assert as_utc(synced.get("UBEN").updated_at) == T0  # unchanged people keep their stamp
    assert as_utc(synced.get("UBEN").synced_at) == T0 + dt.timedelta(hours=1)


def test_a_slack_failure_half_way_changes_nothing(directory, slack, client):
    slack.users.update(crowd())
    directory.sync(fetch_users(client))
    pages = fetch_users(client)
    first_page = list(itertools.islice(pages, 200))
    slack.fail_next("users.list", error="fatal_error")  # the second page fails

    with pytest.raises(SlackApiError):
        directory.sync(itertools.chain(first_page, pages))

    assert len(directory.active_people()) == CROWD  # nobody deactivated


def test_email_is_lower_cased_and_may_be_missing(synced, slack, client):
    slack.users["UDAN"] = {"id": "UDAN", "real_name": "Dan", "profile": {}}

    report = synced.sync(fetch_users(client))

    assert synced.get("UCAT").email == "cat.novak@example.com"
    assert synced.get("UDAN").email == ""
    assert report.without_email == 1


def test_name_falls_back_to_profile_and_handle(directory):
    directory.sync(
        [
            {"id": "U1", "name": "ana.l", "profile": {"display_name": "Ana L"}},
            {"id": "U2", "name": "ben.o", "profile": {}},
        ]
    )

    assert (directory.get("U1").real_name, directory.get("U2").real_name) == ("Ana L", "ben.o")


def test_users_without_an_id_are_skipped(directory):
    report = directory.sync([{"real_name": "nobody"}, {"id": "", "real_name": "blank"}])

    assert report.skipped == {"invalid": 2}
    assert directory.active_people() == []


# -- time zones ---------------------------------------------------------------------------
def test_timezone_falls_back_to_the_default(make_directory, slack, client):
    slack.users.update(STAFF)
    slack.users["UODD"] = member("UODD", "Odd One", tz="Mars/Olympus_Mons")
    directory = make_directory(default_timezone="Europe/Berlin")
    directory.sync(fetch_users(client))

    assert directory.timezone("UANA") == "Europe/Lisbon"
    assert directory.get("UCAT").tz == ""
    assert directory.timezone("UCAT") == "Europe/Berlin"  # Slack gave no tz
    assert directory.timezone("UODD") == "Europe/Berlin"  # a name zoneinfo does not know
    assert directory.timezone("UNKNOWN") == "Europe/Berlin"
    assert make_directory().timezone("UCAT") == "UTC"


def test_an_unknown_default_timezone_is_refused(sessions):
    with pytest.raises(ValueError, match="CHANGEBOT_DEFAULT_TIMEZONE"):
        Directory(session_factory=sessions, default_timezone="Europe/Atlantis")


# -- CSV import ----------------------------------------------------------------------------
def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "people.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def attributes(directory: Directory, user_id: str) -> tuple[str, str, str]:
    person = directory.get(user_id)
    return person.department, person.team, person.location


def test_import_matches_people_by_email_case_insensitively(synced, tmp_path, clock):
    clock.advance(minutes=5)
    path = write(
        tmp_path,
        "Email,DEPARTMENT,Team,location\n"
        "ANA@example.com,Finance,FP&A,Lisbon\n"
        "cat.novak@EXAMPLE.com , Engineering , Platform , Amsterdam\n",
    )

    report = synced.import_csv(path)

    assert report.updated == 2
    assert (report.unmatched_emails, report.unknown_columns, report.errors) == ([], [], [])
    assert attributes(synced, "UANA") == ("Finance", "FP&A", "Lisbon")
    assert attributes(synced, "UCAT") == ("Engineering", "Platform", "Amsterdam")
    assert attributes(synced, "UBEN") == ("", "", "")
    assert as_utc(synced.get("UANA").updated_at) == T0 + dt.timedelta(minutes=5)
    again = synced.import_csv(path)
    assert (again.updated, again.unchanged) == (0, 2)


def test_unknown_columns_are_reported_not_dropped(synced, tmp_path):
    path = write(tmp_path, "email,Manager,department,Cost Centre\nana@example.com,Bo,Sales,42\n")

    report = synced.import_csv(path)

    assert report.unknown_columns == ["Manager", "Cost Centre"]
    assert report.updated == 1
    assert attributes(synced, "UANA") == ("Sales", "", "")


def test_unmatched_emails_are_reported(synced, slack, client, tmp_path):
    del slack.users["UBEN"]
    synced.sync(fetch_users(client))  # Ben left: his email no longer matches anyone active
    path = write(
        tmp_path,
        "email,department\n"
        "ana@example.com,Sales\n"
        "ben@example.com,Sales\n"
        "Zoe@Example.com,Sales\n"
        "zoe@example.com,Sales\n",
    )

    report = synced.import_csv(path)

    assert report.updated == 1
    assert report.unmatched_emails == ["ben@example.com", "zoe@example.com"]
    assert report.errors == ["line 5: zoe@example.com is also on line 4; this row wins"]
    assert synced.get("UBEN").department == ""


def test_semicolon_file_with_quoted_values(synced, tmp_path):
    path = write(
        tmp_path,
        'email;department;location\nana@example.com;"Research; Development";"Lisbon, PT"\n',
    )

    report = synced.import_csv(path)

    assert report.updated == 1
    assert attributes(synced, "UANA") == ("Research; Development", "", "Lisbon, PT")


def test_excel_export_with_bom_crlf_and_trailing_delimiters(synced, tmp_path):
    path = write(
        tmp_path,
        "Email;Department;Team;\r\nana@example.com;Finance;FP&A;\r\n;;;\r\n",
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = synced.import_csv(path)

    assert (report.updated, report.unknown_columns, report.errors) == (1, [], [])
    assert attributes(synced, "UANA") == ("Finance", "FP&A", "")


def test_a_ragged_semicolon_file_the_sniffer_gives_up_on(synced):
    report = synced.import_csv(
        "email;department\nana@example.com;Sales;x;y\nben@example.com\ncat.novak@example.com;Ops\n"
    )

    assert report.updated == 1
    assert [error.split(":")[0] for error in report.errors] == ["line 2", "line 3"]
    assert attributes(synced, "UCAT") == ("Ops", "", "")


def test_tab_separated_and_single_column_files(synced, tmp_path):
    tabs = synced.import_csv(write(tmp_path, "email\tteam\nben@example.com\tData\n"))
    only_email = synced.import_csv(write(tmp_path, "email\nben@example.com\nx@y.org\n", name="b"))

    assert tabs.updated == 1 and synced.get("UBEN").team == "Data"
    assert (only_email.updated, only_email.unchanged) == (0, 1)
    assert only_email.unmatched_emails == ["x@y.org"]


def test_text_and_bytes_are_accepted(synced):
    synced.import_csv("email,department\nana@example.com,Legal\n")
    assert synced.get("UANA").department == "Legal"
    synced.import_csv("\ufeffemail,department\r\nana@example.com,Risk\r\n".encode())
    assert synced.get("UANA").department == "Risk"


def test_the_file_rules_the_columns_it_has(synced):
    synced.import_csv("email,department,team\nana@example.com,Finance,FP&A\n")

    synced.import_csv("email,team\nana@example.com,\n")  # empty cell: cleared

    assert attributes(synced, "UANA") == ("Finance", "", "")  # no column: kept


def test_bad_rows_are_reported_and_the_rest_imported(synced, tmp_path):
    path = write(
        tmp_path,
        "email,department,team\n"
        ",Sales,North\n"
        "ben@example.com,Research, Development,R&D\n"
        "ana@example.com,Sales\n"
        "\n"
        "cat.novak@example.com,Engineering,Platform\n",
    )

    report = synced.import_csv(path)

    assert report.updated == 1
    assert report.errors == [
        "line 2: no email; row skipped",
        "line 3: a different number of fields than the header has (3); row skipped "
        "(a delimiter inside a value needs quotes)",
        "line 4: a different number of fields than the header has (3); row skipped "
        "(a delimiter inside a value needs quotes)",
    ]
    assert attributes(synced, "UCAT") == ("Engineering", "Platform", "")
    assert attributes(synced, "UBEN") == ("", "", "")


def test_values_in_an_unnamed_column_are_reported(synced):
    report = synced.import_csv("email,department,\nana@example.com,Sales,oops\n")

    assert report.unknown_columns == ["(unnamed column 3)"]
    assert report.updated == 1


def test_overlong_values_are_refused_per_row(synced):
    report = synced.import_csv(f"email,team\nana@example.com,{'x' * 300}\n")

    assert report.errors == ["line 2: team longer than 255 characters; row skipped"]
    assert synced.get("UANA").team == ""


@pytest.mark.parametrize(
    ("content", "encoding", "expected"),
    [
        ("name,department\nAna,Finance\n", "utf-8", r"no 'email' column \(columns found: "),
        ("", "utf-8", "is empty"),
        ("  \n\n", "utf-8", "is empty"),
        ("email,department\nana@example.com,Régie\n", "cp1252", "not UTF-8 .*CSV UTF-8"),
        ("email,Email\na@b.c,d@e.f\n", "utf-8", "appears more than once"),
    ],
    ids=["no-email-column", "empty", "blank", "not-utf8", "duplicate-column"],
)
def test_files_that_cannot_be_imported_say_what_to_fix(
    synced, tmp_path, content, encoding, expected
):
    path = write(tmp_path, content, encoding=encoding)

    with pytest.raises(DirectoryImportError, match=expected) as caught:
        synced.import_csv(path)

    assert str(path) in str(caught.value)
    assert attributes(synced, "UANA") == ("", "", "")


def test_missing_file_and_folder(synced, tmp_path):
    with pytest.raises(DirectoryImportError, match="no such file"):
        synced.import_csv(tmp_path / "nope.csv")
    with pytest.raises(DirectoryImportError, match="no such file"):
        synced.import_csv(str(tmp_path / "nope.csv"))
    with pytest.raises(DirectoryImportError, match="is a folder"):
        synced.import_csv(tmp_path)


def test_the_missing_email_column_error_names_the_columns(synced):
    with pytest.raises(DirectoryImportError) as caught:
        synced.import_csv("Name;E-mail address\nAna;ana@example.com\n")

    assert "'Name', 'E-mail address'" in str(caught.value)


# -- queries ---------------------------------------------------------------------------------
@pytest.fixture
def staffed(synced, slack, client) -> Directory:
    """The mixed workspace with departments; Ben (Finance) has left."""
    synced.import_csv(
        "email,department\n"
        "ana@example.com,Finance\n"
        "ben@example.com,Finance\n"
        "cat.novak@example.com,engineering\n"
    )
    slack.users["UDAN"] = member("UDAN", "Dan Ek")
    slack.users["UEVA"] = member("UEVA", "Eva Berg")
    del slack.users["UBEN"]
    synced.sync(fetch_users(client))
    synced.import_csv("email,department\neva@example.com,Audit\n")
    return synced


def test_by_department_is_case_insensitive_and_active_only(staffed):
    assert ids(staffed.by_department(["finance"])) == ["UANA"]
    assert ids(staffed.by_department(["Engineering", "AUDIT"])) == ["UCAT", "UEVA"]
    assert ids(staffed.by_department("Finance")) == ["UANA"]  # one name, not its letters
    assert staffed.by_department([]) == []
    assert staffed.by_department(["", "  "]) == []  # never "everyone without a department"


def test_departments_are_distinct_sorted_and_active_only(staffed, slack, client):
    assert staffed.departments() == ["Audit", "engineering", "Finance"]
    del slack.users["UEVA"]
    staffed.sync(fetch_users(client))
    assert staffed.departments() == ["engineering", "Finance"]


def test_by_user_ids_gives_active_people_only(staffed):
    assert ids(staffed.by_user_ids(["UEVA", "UBEN", "UGST", "NOPE", "UANA", "UANA"])) == [
        "UANA",
        "UEVA",
    ]
    assert staffed.by_user_ids([]) == []


def test_by_user_ids_handles_large_audiences(directory, slack, client):
    slack.users.update(crowd(1200))
    directory.sync(fetch_users(client))

    found = directory.by_user_ids([f"U{i:04d}" for i in range(1200)] + ["UX"])

    assert len(found) == 1200


# -- Slack source ----------------------------------------------------------------------------
def test_usergroup_members(slack, client):
    slack.usergroups["S1"] = {"handle": "hr", "users": ["UANA", "UBEN"]}

    assert usergroup_members(client, "S1") == ["UANA", "UBEN"]


def test_unknown_usergroup_is_a_clear_lookup_error(slack, client):
    with pytest.raises(LookupError, match=r"'S404'.*no_such_subteam"):
        usergroup_members(client, "S404")


def test_other_usergroup_errors_are_not_disguised(slack, client):
    slack.fail_next("usergroups.users.list", error="missing_scope")
    with pytest.raises(SlackApiError):
        usergroup_members(client, "S1")


def test_the_domain_does_not_import_slack():
    """Domain code takes member dicts; only bot/slack talks to Slack."""
    tree = ast.parse(Path(bot.directory.service.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.startswith(("slack_sdk", "slack_bolt"))}
