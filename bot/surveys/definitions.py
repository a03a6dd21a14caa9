"""Pulse-survey definitions: the YAML files HR writes, validated into typed objects.

One survey per file in `knowledge/surveys/` (*.yaml or *.yml). A bad file is reported
with the field to fix, and never stops the other surveys from loading. The shape:

    id: change-pulse                    # lowercase slug, unique across all files
    title: Lighthouse change pulse
    intro: Two minutes, anonymous.
    cadence:                            # exactly one of:
      every_n_weeks: {n: 2, day: tue, start: 2026-01-05}
      # weekly: {day: mon}
      # monthly: {day: 15}                  1..28, so that every month has it
      # monthly: {weekday: mon, nth: 1}     nth 1..4, or -1 for the last one
      # cron: "0 9 * * 1"                   standard 5-field crontab
    send_time: "09:00"                  # in each recipient's own time zone
    response_window_days: 5             # 1..30, no longer than the gap between sends
    reminders: true
    audience: {everyone: true}          # or usergroups: [...] and/or departments: [...]
    anonymity: {scores: 5, comments: 10}
    questions:                          # 1..20, at least one likert5 or scale0_10
      - id: resistance-extra-work
        text: The new way of working feels like extra work for me.
        type: likert5                   # likert5 | scale0_10 | enps | text | choice
        dimension: resistance           # resistance | confidence | an ADKAR stage
        reverse: false                  # true for items worded the other way round
      - library: adkar-awareness         # an item of bot/surveys/question_library.yaml
      - id: recommend
        text: How likely are you to recommend working here to a friend?
        type: enps                      # 0..10; eNPS = % promoters (9-10) - % detractors (0-6)
      - id: comment
        text: Anything else?
        type: text                      # text items are optional unless required: true

Cadences give local calendar dates; the scheduler applies `send_time` in each
recipient's time zone. `every_n_weeks` is due on the first `day` on or after `start`
and every n weeks after it. `cron` follows cron's own rules, not APScheduler 3's: 0 and
7 are Sunday, and when both day-of-month and day-of-week are restricted a date matching
either is due. Its minute and hour are the send time, so `send_time` may be left out.

Unlike plain YAML 1.1, `no`/`on` stay text and unquoted `10:30` stays a time, not 630.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.surveys.library import expand as expand_library_item
from bot.yamlfiles import SafeLoader

QuestionType = Literal["likert5", "scale0_10", "enps", "text", "choice"]
Dimension = Literal[
    "resistance", "confidence", "awareness", "desire", "knowledge", "ability", "reinforcement"
]
ADKAR_STAGES: tuple[Dimension, ...] = (
    "awareness",
    "desire",
    "knowledge",
    "ability",
    "reinforcement",
)
DIMENSIONS: tuple[Dimension, ...] = ("resistance", "confidence", *ADKAR_STAGES)
SCALE_TYPES = frozenset({"likert5", "scale0_10"})
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
CADENCE_KINDS = ("weekly", "every_n_weeks", "monthly", "cron")

_SLUG = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron numbering: 0 is Sunday


class _FieldError(ValueError):
    """A cross-field check that knows which nested field is wrong (loc relative to its model)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _slug(value: str) -> str:
    if len(value) > 64 or not _SLUG.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid id: use lowercase letters, digits, '-' or '_' "
            "(at most 64 characters), e.g. 'change-pulse'"
        )
    return value


def _weekday(value: str) -> str:
    key = value.strip().lower()
    for short in WEEKDAYS:
        if key == short or key == calendar.day_name[WEEKDAYS.index(short)].lower():
            return short
    raise ValueError(f"'{value}' is not a weekday: use mon, tue, wed, thu, fri, sat or sun")


def _hh_mm(value: str) -> str:
    match = _TIME.fullmatch(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a time of day: write HH:MM (24-hour), e.g. \"09:00\"")
    return f"{int(match[1]):02d}:{match[2]}"


Slug = Annotated[str, AfterValidator(_slug)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Weekday = Annotated[str, AfterValidator(_weekday)]
TimeOfDay = Annotated[str, AfterValidator(_hh_mm)]


class _Model(BaseModel):
    # A misspelt key (`dimention:`) must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class Question(_Model):
    """One item. Scale items are scored into their dimension; text and choice give context."""

    id: Slug
    text: Text
    type: QuestionType
    dimension: Dimension | None = Field(default=None, validate_default=True)
    reverse: bool = False
    options: list[Annotated[Text, StringConstraints(max_length=75)]] = Field(
        default_factory=list, validate_default=True
    )
    required: bool = True

    @model_validator(mode="before")
    @classmethod
    def _text_is_optional_by_default(cls, data: Any) -> Any:
        data = expand_library_item(data)  # `library: adkar-awareness` -> the full question
        if isinstance(data, dict) and "required" not in data and data.get("type") == "text":
            return {**data, "required": False}
        return data

    @property
    def is_scale(self) -> bool:
        return self.type in SCALE_TYPES

    @field_validator("dimension")
    @classmethod
    def _scale_needs_dimension(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if value is None and kind in SCALE_TYPES:
            raise ValueError(f"a {kind} question needs a dimension: one of {', '.join(DIMENSIONS)}")
        return value

    @field_validator("reverse")
    @classmethod
    def _only_scales_reverse(cls, value: bool, info: ValidationInfo) -> bool:
        kind = info.data.get("type")
        if value and kind is not None and kind not in SCALE_TYPES:
            raise ValueError(f"only likert5 and scale0_10 questions can be reversed, not {kind}")
        return value

    @field_validator("options")
    @classmethod
    def _options_fit_type(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = info.data.get("type")
        if kind == "choice":
            if len(value) < 2:
                raise ValueError("a choice question needs options: a list of at least two answers")
            if len(set(value)) != len(value):
                raise ValueError("each option must be different")
        elif value and kind is not None:
            raise ValueError(f"only choice questions take options, not {kind}")
        return value


class Weekly(_Model):
    day: Weekday

    def next_dates(self, after: dt.date, count: int) -> list[dt.date]:
        first = after + dt.timedelta(days=1)
        first += dt.timedelta(days=(WEEKDAYS.index(self.day) - first.weekday()) % 7)
        return [first + dt.timedelta(weeks=i) for i in range(count)]


class EveryNWeeks(_Model):
    n: int = Field(ge=1, le=52)
    day: Weekday
    start: dt.date  # anchors which weeks are due; without it "every 2 weeks" is ambiguous

    def next_dates(self, after: dt.date, count: int) -> list[dt.date]:
        step = 7 * self.n
        first = self.start + dt.timedelta(
            days=(WEEKDAYS.index(self.day) - self.start.weekday()) % 7
        )
        if after >= first:
            first += dt.timedelta(days=step * ((after - first).days // step + 1))
        return [first + dt.timedelta(days=step * i) for i in range(count)]


class Monthly(_Model):
    day: int | None = None
    weekday: Weekday | None = None
    nth: int | None = None

    @field_validator("day")
    @classmethod
    def _every_month_has_it(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 28:
            raise ValueError(
                "must be 1..28 so that every month has it; for month ends use weekday with nth: -1"
            )
        return value

    @field_validator("nth")
    @classmethod
    def _nth_in_range(cls, value: int | None) -> int | None:
        if value is not None and value not in (1, 2, 3, 4, -1):
            raise ValueError("must be 1, 2, 3, 4, or -1 for the last one in the month")
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> Monthly:
        by_day = self.day is not None
        by_weekday = (self.weekday, self.nth) != (None, None)
        if by_day == by_weekday or (by_weekday and None in (self.weekday, self.nth)):
            raise ValueError("give either day: 1..28, or weekday: mon..sun with nth: 1..4 or -1")
        return self

    def _date_in(self, year: int, month: int) -> dt.date:
        if self.day is not None:
            return dt.date(year, month, self.day)
        wanted = WEEKDAYS.index(self.weekday or "mon")
        nth = self.nth or 1
        if nth > 0:
            first = dt.date(year, month, 1)
            return first + dt.timedelta(days=(wanted - first.weekday()) % 7 + 7 * (nth - 1))
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        return last - dt.timedelta(days=(last.weekday() - wanted) % 7)

    def next_dates(self, after: dt.date, count: int) -> list[dt.date]:
        dates: list[dt.date] = []
        year, month = after.year, after.month
        while len(dates) < count:
            due = self._date_in(year, month)
            if due > after:
                dates.append(due)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return dates


def _cron_day(token: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token in _CRON_DAYS:
        return _CRON_DAYS.index(token)
    raise ValueError(f"'{token}' is not a day of the week (0-7 or sun..sat)")


def _cron_weekdays(spec: str) -> str:
    """Cron's day-of-week field as APScheduler day names: APScheduler 3 counts 0 as Monday."""
    days: set[int] = set()
    for part in spec.lower().split(","):
        span, slash, step_text = part.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"'{part}' has a bad step in the day-of-week field")
        step = int(step_text) if slash else 1
        if span == "*":
            low, high = 0, 7
        elif "-" in span:
            low, high = (_cron_day(bound) for bound in span.split("-", 1))
        else:
            low = _cron_day(span)
            high = 7 if slash else low
        if low > high:
            raise ValueError(f"'{part}' runs backwards in the day-of-week field")
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(WEEKDAYS[(day - 1) % 7] for day in sorted(days))


def _cron_triggers(expr: str) -> list[CronTrigger]:
    """Midnight triggers whose fire dates are the due dates (the time comes from send_time)."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            "a cron expression has 5 fields (minute hour day-of-month month day-of-week); "
            f"'{expr}' has {len(fields)}"
        )
    minute, hour, days, month, weekdays = fields
    try:
        CronTrigger(minute=minute, hour=hour, timezone=dt.UTC)
        names = _cron_weekdays(weekdays)

        def trigger(day: str, day_of_week: str) -> CronTrigger:
            return CronTrigger(
                month=month, day=day, day_of_week=day_of_week, hour=0, minute=0, timezone=dt.UTC
            )

        if days.startswith("*") or weekdays.startswith("*"):
            return [trigger(days, names)]
        return [trigger(days, "*"), trigger("*", names)]
    except ValueError as exc:
        raise ValueError(f"'{expr}' is not a valid cron expression: {exc}") from exc


def _cron_dates(triggers: list[CronTrigger], after: dt.date, count: int) -> list[dt.date]:
    found: set[dt.date] = set()
    for trigger in triggers:
        now = dt.datetime.combine(after + dt.timedelta(days=1), dt.time(), dt.UTC)
        for _ in range(count):
            fire = trigger.get_next_fire_time(None, now)
            if fire is None:
                break
            found.add(fire.date())
            now = fire + dt.timedelta(days=1)
    return sorted(found)[:count]


def cron_time(expr: str) -> str | None:
    """The send time a cron expression names ("0 9 * * 1" -> "09:00"), or None."""
    minute, hour = expr.split()[:2]
    if minute.isdigit() and hour.isdigit() and int(minute) < 60 and int(hour) < 24:
        return f"{int(hour):02d}:{int(minute):02d}"
    return None


class Cadence(_Model):
    """When a survey is due: exactly one of the four kinds, as in the module docstring."""

    weekly: Weekly | None = None
    every_n_weeks: EveryNWeeks | None = None
    monthly: Monthly | None = None
    cron: str | None = None

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _cron_dates(_cron_triggers(value), dt.date(2000, 1, 1), 1):
            raise ValueError(f"'{value}' never falls on a real date")
        if cron_time(value) is None:
            raise ValueError(
                f"'{value}' must name one time of day, e.g. '0 9 * * 1' for Mondays at 09:00: "
                "the survey is sent once per due date"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Cadence:
        given = [kind for kind in CADENCE_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            found = f" (found {', '.join(given)})" if given else ""
            raise ValueError(f"give exactly one of {', '.join(CADENCE_KINDS)}{found}")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in CADENCE_KINDS if getattr(self, kind) is not None)

    def next_dates(self, after: dt.date, count: int = 1) -> list[dt.date]:
        """The next `count` due dates strictly after `after` (pass yesterday to include today)."""
        if count < 0:
            raise ValueError("count must not be negative")
        if self.cron is not None:
            return _cron_dates(_cron_triggers(self.cron), after, count)
        rule: Weekly | EveryNWeeks | Monthly = getattr(self, self.kind)
        return rule.next_dates(after, count)

    def min_gap_days(self) -> int:
        """The shortest time between two due dates: a response window must fit inside it."""
        if self.weekly is not None:
            return 7
        if self.every_n_weeks is not None:
            return 7 * self.every_n_weeks.n
        if self.monthly is not None:
            return 28
        dates = self.next_dates(dt.date(2001, 1, 1), 60)
        return min(((b - a).days for a, b in itertools.pairwise(dates)), default=366)


class Audience(_Model):
    """Who is invited. Usergroups and departments are resolved to people at send time."""

    everyone: bool = False
    usergroups: list[Text] = Field(default_factory=list)
    departments: list[Text] = Field(default_factory=list)

    @model_validator(mode="after")
    def _someone(self) -> Audience:
        if self.everyone and (self.usergroups or self.departments):
            raise ValueError(
                "everyone: true already includes every group; remove usergroups and departments"
            )
        if not (self.everyone or self.usergroups or self.departments):
            raise ValueError(
                "say who is invited: everyone: true, usergroups: [...] or departments: [...]"
            )
        return self


class Anonymity(_Model):
    """Smallest group whose scores / comments may be shown: a comment says more than a score."""

    scores: int = Field(default=5, ge=3)
    comments: int = Field(default=10, ge=3)

    @field_validator("comments")
    @classmethod
    def _comments_at_least_scores(cls, value: int, info: ValidationInfo) -> int:
        scores = info.data.get("scores")
        if scores is not None and value < scores:
            raise ValueError(f"must be at least the scores threshold ({scores})")
        return value


class Survey(_Model):
    id: Slug
    title: Text
    intro: Text
    cadence: Cadence
    send_time: TimeOfDay = "09:00"
    response_window_days: int = Field(default=5, ge=1, le=30)
    reminders: bool = True
    audience: Audience = Field(default_factory=lambda: Audience(everyone=True))
    anonymity: Anonymity = Field(default_factory=Anonymity)
    questions: list[Question] = Field(min_length=1, max_length=20)

    @field_validator("questions")
    @classmethod
    def _questions_usable(cls, questions: list[Question]) -> list[Question]:
        seen: dict[str, int] = {}
        for index, question in enumerate(questions):
            if question.id in seen:
                raise _FieldError(
                    (index, "id"),
                    f"'{question.id}' is already used by questions[{seen[question.id]}]",
                )
            seen[question.id] = index
        if not any(question.is_scale or question.type == "enps" for question in questions):
            raise ValueError(
                "add at least one likert5 or scale0_10 question (or an enps one): nothing to score"
            )
        return questions

    @model_validator(mode="after")
    def _timing_fits(self) -> Survey:
        if self.cadence.cron is not None:
            at = cron_time(self.cadence.cron)
            if "send_time" not in self.model_fields_set:
                self.send_time = at or self.send_time
            elif at != self.send_time:
                raise _FieldError(
                    ("send_time",),
                    f"{self.send_time} disagrees with the cron time {at}; make them match "
                    "or leave send_time out",
                )
        gap = self.cadence.min_gap_days()
        if self.response_window_days > gap:
            raise _FieldError(
                ("response_window_days",),
                f"{self.response_window_days} days is longer than the {gap} days between "
                "sends; runs would overlap",
            )
        return self

    @property
    def scale_questions(self) -> list[Question]:
        return [question for question in self.questions if question.is_scale]


@dataclass(frozen=True)
class SurveyError:
    """Why a file did not load; `field` is like `questions[2].dimension`, "" for the whole file."""

    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        return ": ".join(part for part in (str(self.path), self.field, self.message) if part)


@dataclass
class LoadResult:
    surveys: dict[str, Survey] = field(default_factory=dict)
    errors: list[SurveyError] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)  # survey id -> the file it came from


class _Loader(SafeLoader):
    """YAML 1.2-style scalars and no silently repeated keys (YAML 1.1 keeps the last one);
    no aliases (the shared SafeLoader refuses them)."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class-level registry
        first: [
            (tag, regex) for tag, regex in resolvers if not tag.endswith(("bool", "int", "float"))
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"'{key.value}' appears twice in the same block", key.start_mark
                    )
                seen.add(key.value)
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def _field_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _human(error: Any) -> tuple[str, str]:
    """(field path, message) for one pydantic error, in words for the file's author."""
    kind, ctx, loc = error["type"], error.get("ctx") or {}, tuple(error["loc"])
    cause = ctx.get("error")
    if isinstance(cause, _FieldError):
        loc += cause.loc
    messages = {
        "missing": "required but missing",
        "extra_forbidden": "unknown field; check the spelling",
        "string_too_short": "must not be empty",
        "literal_error": f"'{error.get('input')}' is not allowed; use {ctx.get('expected')}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "too_short": f"has too few entries: at least {ctx.get('min_length')} needed",
        "too_long": f"has too many entries: at most {ctx.get('max_length')} allowed",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
    }
    if kind in ("value_error", "assertion_error") and cause is not None:
        return _field_path(loc), str(cause)
    return _field_path(loc), messages.get(kind, error["msg"])


def parse_survey(text: str, path: Path) -> tuple[Survey | None, list[SurveyError]]:
    """One file's text -> a Survey, or the errors that stop it loading."""
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [SurveyError(path, "", f"YAML error{where}: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [SurveyError(path, "", f"not valid YAML: {exc}")]
    if data is None:
        return None, [SurveyError(path, "", "the file is empty")]
    if not isinstance(data, dict):
        found = type(data).__name__
        return None, [
            SurveyError(path, "", f"expected survey settings (id:, title:, ...), not {found}")
        ]
    try:
        return Survey.model_validate(data), []
    except ValidationError as exc:
        return None, [SurveyError(path, *_human(err)) for err in exc.errors(include_url=False)]


def load_surveys(folder: Path) -> LoadResult:
    """Every *.yaml / *.yml directly in `folder`; bad files become errors, the rest still load.

    Files are read in name order; when two share a survey id the first keeps it and the
    second is reported, naming both files.
    """
    result = LoadResult()
    if not folder.is_dir():
        result.errors.append(SurveyError(folder, "", "no such folder"))
        return result
    paths = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in (".yaml", ".yml") and path.name[0] != "."
    )
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            result.errors.append(SurveyError(path, "", f"cannot read the file ({exc})"))
            continue
        survey, errors = parse_survey(text, path)
        result.errors.extend(errors)
        if survey is None:
            continue
        if survey.id in result.surveys:
            first = result.sources[survey.id]
            message = f"'{survey.id}' is already the id of {first}; each survey needs its own id"
            result.errors.append(SurveyError(path, "id", message))
            continue
        result.surveys[survey.id] = survey
        result.sources[survey.id] = path
    return result
