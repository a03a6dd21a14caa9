"""The employee directory: who is in the workspace, where they sit, which time zone they are in.

Slack's member list says who exists (`sync`); HR's CSV adds department, team and location
(`import_csv`). Surveys and broadcasts resolve their audiences here. No Slack client in
this module: `bot/slack/directory_source.py` fetches the member dicts and hands them in.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Person
from bot.timeutil import utcnow

Clock = Callable[[], dt.datetime]

SLACKBOT_ID = "USLACKBOT"
CSV_ATTRIBUTES = ("department", "team", "location")  # the columns a CSV may set
MAX_VALUE = 255  # String(255) columns; PostgreSQL would refuse longer values
_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's parameter limit
_DELIMITERS = ",;\t"

# Skip reasons, as counted in SyncReport.skipped.
BOT, DELETED, APP_USER, GUEST, INVALID = "bot", "deleted", "app_user", "guest", "invalid"


class DirectoryImportError(ValueError):
    """A CSV file that cannot be imported at all; the message says what to fix."""


@dataclass(frozen=True)
class SyncReport:
    added: int
    updated: int
    deactivated: int
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    unchanged: int = 0
    without_email: int = 0  # active people Slack gave no email for (CSV cannot match them)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class ImportReport:
    updated: int
    unmatched_emails: list[str] = field(default_factory=list)  # in file order, once each
    unknown_columns: list[str] = field(default_factory=list)  # as spelled in the header
    errors: list[str] = field(default_factory=list)  # rows that were skipped, and why
    unchanged: int = 0  # matched people whose values were already the same


class Directory:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock = utcnow,
        include_guests: bool = False,
        default_timezone: str = "UTC",
    ) -> None:
        if not valid_timezone(default_timezone):
            raise ValueError(
                f"default time zone {default_timezone!r} is not an IANA time zone name "
                "(e.g. 'Europe/Amsterdam'); check CHANGEBOT_DEFAULT_TIMEZONE"
            )
        self.sessions = session_factory
        self.clock = clock
        self.include_guests = include_guests
        self.default_timezone = default_timezone

    # -- Slack members -------------------------------------------------------------------
    def sync(self, users: Iterable[dict]) -> SyncReport:
        """Bring the directory in line with Slack's member list (`users.list` member dicts).

        The whole list is read before anything is written, in one transaction: a list that
        fails half-way (a Slack error on page 3) changes nothing, rather than deactivating
        everyone after page 2. Department, team and location are never touched.
        """
        wanted: dict[str, dict] = {}
        skipped: Counter[str] = Counter()
        for user in users:
            reason = self._skip_reason(user)
            if reason:
                skipped[reason] += 1
            else:
                wanted[user["id"]] = _slack_fields(user)
        try:
            return self._apply_sync(wanted, skipped)
        except IntegrityError:
            # Another sync inserted some of the same people at the same moment: run again.
            return self._apply_sync(wanted, skipped)

    def _skip_reason(self, user: dict) -> str | None:
        if not isinstance(user, dict) or not str(user.get("id") or "").strip():
            return INVALID
        if user["id"] == SLACKBOT_ID or user.get("is_bot") or user.get("is_workflow_bot"):
            return BOT
        if user.get("deleted"):
            return DELETED
        if user.get("is_app_user"):
            return APP_USER
        if _is_guest(user) and not self.include_guests:
            return GUEST
        return None

    def _apply_sync(self, wanted: dict[str, dict], skipped: Counter[str]) -> SyncReport:
        now = self.clock()
        added = updated = unchanged = deactivated = 0
        with self.sessions.begin() as session:
            existing = {person.user_id: person for person in session.scalars(select(Person))}
            for user_id, values in wanted.items():
                person = existing.get(user_id)
                if person is None:
                    session.add(
                        Person(
                            user_id=user_id,
                            **values,
                            active=True,
                            department="",
                            team="",
                            location="",
                            synced_at=now,
                            updated_at=now,
                        )
                    )
                    added += 1
                    continue
                changed = not person.active or any(
                    getattr(person, name) != value for name, value in values.items()
                )
                for name, value in values.items():
                    setattr(person, name, value)
                person.active = True
                person.synced_at = now
                if changed:
                    person.updated_at = now
                    updated += 1
                else:
                    unchanged += 1
            # Deleted in Slack, no longer returned, or now excluded (a guest, a bot): inactive.
            for user_id, person in existing.items():
                if person.active and user_id not in wanted:
                    person.active = False
                    person.updated_at = now
                    deactivated += 1
        without_email = sum(1 for values in wanted.values() if not values["email"])
        return SyncReport(
            added=added,
            updated=updated,
            deactivated=deactivated,
            skipped=dict(sorted(skipped.items())),
            unchanged=unchanged,
            without_email=without_email,
        )

    # -- HR's CSV ------------------------------------------------------------------------
    def import_csv(self, path_or_text: str | os.PathLike | bytes) -> ImportReport:
        """Set department, team and location from a CSV matched to people by email.

        `path_or_text` is a path (a `Path`, or a one-line string naming a file), the file's
        bytes, or its text (a string with line breaks). The file is authoritative for the
        columns it has: an empty cell clears the value; a column it lacks is left alone.
        Raises DirectoryImportError when the file as a whole cannot be used.
        """
        rows, header, line_numbers, unknown = _read_csv(path_or_text)
        known = {name.strip().lower(): index for index, name in enumerate(header)}
        columns = [name for name in CSV_ATTRIBUTES if name in known]
        errors: list[str] = []
        wanted: dict[str, dict[str, str]] = {}  # email -> values; a later row wins
        first_line: dict[str, int] = {}
        for row, line in zip(rows, line_numbers, strict=True):
            row = _fit(row, header)
            if row is None:
                errors.append(
                    f"line {line}: a different number of fields than the header has "
                    f"({len(header)}); row skipped (a delimiter inside a value needs quotes)"
                )
                continue
            email = row[known["email"]].strip().lower()
            if not email:
                errors.append(f"line {line}: no email; row skipped")
                continue
            values = {name: row[known[name]].strip() for name in columns}
            too_long = [name for name, value in values.items() if len(value) > MAX_VALUE]
            if too_long:
                errors.append(
                    f"line {line}: {', '.join(too_long)} longer than {MAX_VALUE} characters; "
                    "row skipped"
                )
                continue
            if email in wanted:
                errors.append(
                    f"line {line}: {email} is also on line {first_line[email]}; this row wins"
                )
            else:
                first_line[email] = line
            wanted[email] = values

        updated = unchanged = 0
        matched: set[str] = set()
        now = self.clock()
        with self.sessions.begin() as session:
            for chunk in _chunks(list(wanted)):
                people = session.scalars(
                    select(Person).where(Person.active, Person.email.in_(chunk))
                )
                for person in people:
                    matched.add(person.email)
                    values = wanted[person.email]
                    if all(getattr(person, name) == value for name, value in values.items()):
                        unchanged += 1
                        continue
                    for name, value in values.items():
                        setattr(person, name, value)
                    person.updated_at = now
                    updated += 1
        return ImportReport(
            updated=updated,
            unmatched_emails=[email for email in wanted if email not in matched],
            unknown_columns=unknown,
            errors=errors,
            unchanged=unchanged,
        )

    # -- queries for surveys and broadcasts -----------------------------------------------
    def active_people(self) -> list[Person]:
        with self.sessions() as session:
            return list(session.scalars(select(Person).where(Person.active).order_by("user_id")))

    def active_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(Person).where(Person.active))

    def get(self, user_id: str) -> Person | None:
        """The person, active or not; None when Slack never listed them."""
        with self.sessions() as session:
            return session.get(Person, user_id)

    def display_name(self, user_id: str) -> str:
        """The person's real name as Slack lists it, else the user id itself."""
        person = self.get(user_id) if user_id else None
        return (person.real_name if person else "") or user_id

    def by_department(self, names: str | Iterable[str]) -> list[Person]:
        """Active people in any of these departments (names compared case-insensitively)."""
        if isinstance(names, str):
            names = [names]
        wanted = sorted({name.strip().lower() for name in names if name and name.strip()})
        if not wanted:
            return []
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Person)
                    .where(Person.active, func.lower(Person.department).in_(wanted))
                    .order_by(Person.user_id)
                )
            )

    def by_user_ids(self, ids: Iterable[str]) -> list[Person]:
        """The active people among these ids (unknown and inactive ids are left out)."""
        wanted = sorted(set(ids))
        found: list[Person] = []
        with self.sessions() as session:
            for chunk in _chunks(wanted):
                found.extend(
                    session.scalars(select(Person).where(Person.active, Person.user_id.in_(chunk)))
                )
        return sorted(found, key=lambda person: person.user_id)

    def inactive_ids(self, ids: Iterable[str]) -> set[str]:
        """The ids among these that the directory knows and has marked inactive."""
        gone: set[str] = set()
        with self.sessions() as session:
            for chunk in _chunks(sorted(set(ids))):
                gone.update(
                    session.scalars(
                        select(Person.user_id).where(~Person.active, Person.user_id.in_(chunk))
                    )
                )
        return gone

    def forget_leavers(self, before: dt.datetime) -> list[str]:
        """People inactive since before `before`: their personal data is erased.

        Only the user id stays, marked inactive, so updates and surveys keep leaving them
        out; a person who comes back is filled in again by the next sync and CSV import.
        Returns the ids whose data was erased by this call.
        """
        with self.sessions.begin() as session:
            people = session.scalars(
                select(Person).where(
                    ~Person.active,
                    Person.updated_at < before,
                    (Person.email != "")
                    | (Person.real_name != "")
                    | (Person.tz != "")
                    | (Person.department != "")
                    | (Person.team != "")
                    | (Person.location != ""),
                )
            ).all()
            for person in people:
                for name in ("email", "real_name", "tz", "department", "team", "location"):
                    setattr(person, name, "")
            return [person.user_id for person in people]

    def departments(self) -> list[str]:
        """Distinct departments of active people, sorted; people without one are left out."""
        with self.sessions() as session:
            names = session.scalars(
                select(Person.department).where(Person.active, Person.department != "").distinct()
            ).all()
        return sorted(names, key=lambda name: (name.casefold(), name))

    def timezone(self, user_id: str) -> str:
        """The person's IANA time zone; the default for unknown people or unusable names."""
        with self.sessions() as session:
            tz = session.scalar(select(Person.tz).where(Person.user_id == user_id))
        return tz if tz and valid_timezone(tz) else self.default_timezone


# -- helpers -------------------------------------------------------------------------------
@lru_cache(maxsize=1024)
def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _is_guest(user: dict) -> bool:
    return bool(user.get("is_restricted") or user.get("is_ultra_restricted"))


def _slack_fields(user: dict) -> dict:
    profile = user.get("profile") or {}
    name = (
        user.get("real_name")
        or profile.get("real_name")
        or profile.get("display_name")
        or user.get("name")
        or ""
    )
    return {
        "email": str(profile.get("email") or "").strip().lower()[:MAX_VALUE],
        "real_name": str(name).strip()[:MAX_VALUE],
        "tz": str(user.get("tz") or "").strip()[:64],
        "is_guest": _is_guest(user),
    }


def _fit(row: list[str], header: list[str]) -> list[str] | None:
    """The row cut or padded to the header's width; None when cells would be lost or made up.

    Spreadsheets add trailing delimiters (extra empty cells) and unnamed empty columns;
    those are harmless. A missing cell under a named column is not.
    """
    width = len(header)
    if len(row) > width:
        return None if any(cell.strip() for cell in row[width:]) else row[:width]
    if len(row) < width:
        return None if any(header[len(row) :]) else row + [""] * (width - len(row))
    return row


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def _load_text(source: str | os.PathLike | bytes) -> tuple[str, str]:
    """(text, name for messages) from a path, bytes or text."""
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return source.removeprefix("\ufeff"), "the CSV text"
    if isinstance(source, bytes):
        data, name = source, "the CSV data"
    else:
        path = Path(source)
        if not path.exists():
            raise DirectoryImportError(f"{path}: no such file. Check the path to the CSV file.")
        if path.is_dir():
            raise DirectoryImportError(f"{path} is a folder; give the path of the CSV file.")
        data, name = path.read_bytes(), str(path)
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as exc:
        raise DirectoryImportError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}). "
            "Save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8), then import it again."
        ) from exc


def _dialect(text: str, first_line: str) -> type[csv.Dialect] | csv.Dialect:
    """Sniff ; , or tab; when the sniffer guesses wrong the header line decides."""
    try:
        dialect = csv.Sniffer().sniff(text[: 64 * 1024], delimiters=_DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    if _header_has_email(first_line, dialect.delimiter):
        return dialect
    for delimiter in _DELIMITERS:
        if _header_has_email(first_line, delimiter):
            return _with_delimiter(delimiter)
    return dialect


def _with_delimiter(delimiter: str) -> type[csv.Dialect]:
    class Chosen(csv.excel):
        pass

    Chosen.delimiter = delimiter
    return Chosen


def _header_has_email(line: str, delimiter: str) -> bool:
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return any(cell.strip().lower() == "email" for cell in cells)


def _read_csv(
    source: str | os.PathLike | bytes,
) -> tuple[list[list[str]], list[str], list[int], list[str]]:
    """(data rows, header, line number of each row, unknown column names)."""
    text, name = _load_text(source)
    if not text.strip():
        raise DirectoryImportError(
            f"{name} is empty. Expected a header row with an 'email' column and optional "
            "'department', 'team', 'location' columns, then one row per person."
        )
    first_line = next(line for line in text.splitlines() if line.strip())
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text, first_line))
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    header: list[str] | None = None
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if header is None:
                header = row
                continue
            rows.append(row)
            line_numbers.append(reader.line_num)
    except csv.Error as exc:
        raise DirectoryImportError(
            f"{name}, line {reader.line_num}: not readable as CSV ({exc})."
        ) from exc
    assert header is not None  # the text has a non-blank line
    names = [cell.strip() for cell in header]
    lowered = [cell.lower() for cell in names]
    if "email" not in lowered:
        found = ", ".join(repr(cell) for cell in names if cell) or "none"
        raise DirectoryImportError(
            f"{name} has no 'email' column (columns found: {found}). The first row must be "
            "a header naming an 'email' column; people are matched by their Slack email."
        )
    duplicated = sorted({cell for cell in lowered if cell and lowered.count(cell) > 1})
    if duplicated:
        raise DirectoryImportError(
            f"{name}: column {', '.join(map(repr, duplicated))} appears more than once in the "
            "header; keep one and import again."
        )
    unknown = []
    for index, cell in enumerate(names):
        if cell.lower() in ("email", *CSV_ATTRIBUTES):
            continue
        if cell:
            unknown.append(cell)
        elif any(index < len(row) and row[index].strip() for row in rows):
            unknown.append(f"(unnamed column {index + 1})")
    return rows, names, line_numbers, unknown
