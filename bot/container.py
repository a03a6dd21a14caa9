"""Builds the object graph from Settings: the one place that wires things together.

Heavy parts (the embedding model, Chroma) are created on first use so that cheap
commands stay fast and tests can hand in their own fakes.
"""

from __future__ import annotations

import logging
from functools import cached_property

from langchain_core.embeddings import Embeddings

from bot.config import Settings, SettingsError
from bot.knowledge.answer import Answerer, load_chat_model
from bot.knowledge.embeddings import CountingEmbeddings, load_sentence_transformer
from bot.knowledge.generations import Generations
from bot.knowledge.index import PlaybookIndexer
from bot.knowledge.retrieve import HybridRetriever
from bot.knowledge.store import PlaybookStore, make_chroma_client
from bot.prompts import PromptLibrary
from bot.questions.service import QuestionService
from bot.store.db import make_engine, make_session_factory, migrate, wait_for_database
from bot.store.record_manager import SQLRecordManager

log = logging.getLogger(__name__)


class Container:
    def __init__(
        self,
        settings: Settings,
        *,
        embeddings: Embeddings | None = None,
        model_id: str | None = None,
        llm=None,
    ) -> None:
        self.settings = settings
        self._embeddings_override = embeddings
        self._model_id_override = model_id
        self._llm_override = llm

    # -- storage ---------------------------------------------------------------------
    @cached_property
    def engine(self):
        engine = make_engine(self.settings.resolved_database_url)
        wait_for_database(engine, wait_seconds=self.settings.database_wait_seconds)
        # The definitions and the analyzer let a migration backfill figures from answers.
        migrate(
            engine,
            surveys=lambda: self.surveys().surveys,
            labeller=lambda: self.sentiment_analyzer,
        )
        return engine

    @cached_property
    def session_factory(self):
        return make_session_factory(self.engine)

    @property
    def record_manager(self) -> SQLRecordManager:
        """The chunk keys of the index generation the playbook store is on."""
        return self.playbook_store.record_manager

    @cached_property
    def generations(self) -> Generations:
        return Generations(
            session_factory=self.session_factory,
            base=self.settings.chroma_collection,
            grace_seconds=self.settings.index_grace_seconds,
        )

    @cached_property
    def chroma_client(self):
        return make_chroma_client(path=self.settings.chroma_path, url=self.settings.chroma_url)

    # -- knowledge -------------------------------------------------------------------
    @cached_property
    def embeddings(self) -> CountingEmbeddings:
        if self._embeddings_override is not None:
            return CountingEmbeddings(self._embeddings_override)
        return CountingEmbeddings(
            lambda: load_sentence_transformer(
                self.settings.embedding_model,
                batch_size=self.settings.embedding_batch_size,
                threads=self.settings.torch_threads,
            )
        )

    @cached_property
    def sentiment_analyzer(self):
        """Labels comments (``label``, ``label_many``): the configured classifier or VADER+rules."""
        from bot.surveys.sentiment_model import build_sentiment_analyzer

        return build_sentiment_analyzer(
            self.settings.sentiment_model,
            embed=lambda texts: self.embeddings.embed_documents(texts),
            embedding_model=self.model_id,
        )

    def sentiment_systems(self):
        """(systems by name, the default's name) for `changebot eval-sentiment`."""
        from bot.surveys.sentiment_model import comparison_systems

        return comparison_systems(self.sentiment_analyzer)

    @property
    def model_id(self) -> str:
        return self._model_id_override or self.settings.embedding_model

    @cached_property
    def playbook_store(self) -> PlaybookStore:
        return PlaybookStore(
            client=self.chroma_client,
            generations=self.generations,
            embeddings=self.embeddings,
            model_id=self.model_id,
        )

    @cached_property
    def indexer(self) -> PlaybookIndexer:
        from bot.broadcasts.service import SOURCE_PREFIX
        from bot.questions.captured import SOURCE_PREFIX as CAPTURED_PREFIX

        return PlaybookIndexer(
            store=self.playbook_store,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            batch_size=self.settings.embedding_batch_size,
            # Leaders' updates and the change team's captured answers live in the database;
            # every ingest (a rebuild too) puts them back. str.startswith takes the tuple.
            extra_documents=lambda: self.broadcasts.documents() + self.captured.documents(),
            max_file_bytes=int(self.settings.max_file_mb * 1_000_000),
            extra_prefix=(SOURCE_PREFIX, CAPTURED_PREFIX),  # type: ignore[arg-type]
        )

    @cached_property
    def retriever(self) -> HybridRetriever:
        self.playbook_store.check_model()
        return HybridRetriever(
            store=self.playbook_store,
            embeddings=self.embeddings,
            on_switch=lambda: self.indexer.sync_extra_documents(),
            candidates=self.settings.retrieval_candidates,
            rrf_k=self.settings.rrf_k,
            keyword_weight=self.settings.keyword_weight,
            faq_weight=self.settings.faq_weight,
            tie_margin=self.settings.recency_tie_margin,
            announcement_margin=self.settings.announcement_margin,
        )

    @cached_property
    def prompts(self) -> PromptLibrary:
        library = PromptLibrary()
        library.validate_all()
        return library

    @cached_property
    def llm(self):
        if self._llm_override is not None:
            return self._llm_override
        if not self.settings.llm:
            return None
        try:
            return load_chat_model(self.settings.llm)
        except Exception as exc:
            log.warning(
                "CHANGEBOT_LLM=%s could not be loaded (%s); answering extractively.",
                self.settings.llm,
                exc,
            )
            return None

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(
            retriever=self.retriever,
            prompts=self.prompts,
            llm=self.llm,
            k=self.settings.retrieval_k,
            abstain_threshold=self.settings.abstain_threshold,
            min_subject=self.settings.answer_min_subject,
            slot_required=self.settings.answer_slot_required,
            faq_threshold=self.settings.faq_match_threshold,
            llm_timeout=self.settings.llm_timeout,
            help_channel=self.settings.help_channel,
        )

    @cached_property
    def question_service(self) -> QuestionService:
        return QuestionService(
            answerer=self.answerer,
            session_factory=self.session_factory,
            retention_days=self.settings.retention_days,
        )

    @cached_property
    def retention(self):
        """The hourly purge: every retention rule, each owned by its domain."""
        from bot.retention import Retention

        return Retention(
            questions=self.question_service,
            survey_runs=self.survey_runs,
            outbox=self.outbox,
            broadcast_sessions=self.session_factory,
            directory=self.directory,
            payload_days=self.settings.outbox_payload_retention_days,
            ack_days=self.settings.ack_retention_days,
            leaver_days=self.settings.leaver_retention_days,
        )

    # -- Slack Web API (outside Bolt: CLI commands, the delivery worker) --------------------
    def slack_client(self, *, for_delivery: bool = False):
        """A WebClient on SLACK_API_URL. The delivery worker handles 429 itself (whole bucket)."""
        from slack_sdk import WebClient

        from bot.slack.app import make_web_client

        if for_delivery:
            # No automatic retries: a re-sent POST could duplicate a DM. The worker retries
            # itself, checking the DM history first whenever an attempt may have landed.
            client = WebClient(
                token=self.settings.slack_bot_token, base_url=self.settings.slack_api_url
            )
            client.retry_handlers.clear()
            return client
        return make_web_client(
            token=self.settings.slack_bot_token or "",
            base_url=self.settings.slack_api_url,
            retries=self.settings.slack_retries,
        )

    # -- delivery, directory, surveys --------------------------------------------------------
    @cached_property
    def outbox(self):
        from bot.delivery.outbox import Outbox

        return Outbox(
            session_factory=self.session_factory,
            lease_seconds=self.settings.delivery_lease_seconds,
        )

    @cached_property
    def delivery_worker(self):
        from bot.delivery.worker import DeliveryWorker

        def on_sent(row, channel, ts):
            # An invitation that reached someone counts for participation and reminders.
            parts = row.campaign.split("-")
            if row.op == "post" and len(parts) == 2 and parts[0] == "pulse":
                self.survey_runs.mark_delivered(int(parts[1]), row.recipient)
            # A copy of an update edited or recalled while it was on its way: catch it up.
            if row.op == "post" and row.campaign.startswith("broadcast-"):
                self.broadcasts.after_delivery(
                    row.campaign, row.recipient, row.payload, channel, ts
                )

        return DeliveryWorker(
            outbox=self.outbox,
            client=self.slack_client(for_delivery=True),
            rate_per_second=self.settings.delivery_rate,
            limiter=self.send_limiter,
            concurrency=self.settings.delivery_concurrency,
            on_sent=on_sent,
        )

    @cached_property
    def send_limiter(self):
        """The send budget per Slack method: shared by every replica unless the deployment
        is one process on SQLite (see bot/delivery/limiter.py)."""
        from bot.delivery import limiter

        settings = self.settings
        kind = settings.delivery_limiter
        if kind == "auto":
            on_postgres = settings.resolved_database_url.startswith("postgresql")
            kind = "redis" if settings.redis_url else "database" if on_postgres else "memory"
        rates = {"rate": settings.delivery_rate, "rates": settings.method_rates}
        if kind == "memory":
            return limiter.MemoryLimiter(**rates)
        if kind == "database":
            return limiter.SharedLimiter(limiter.DatabaseBudget(self.session_factory), **rates)
        if not settings.redis_url:
            raise SettingsError(
                "CHANGEBOT_DELIVERY_LIMITER=redis needs CHANGEBOT_REDIS_URL "
                "(e.g. redis://127.0.0.1:6379/0): where the replicas share their send budget."
            )
        return limiter.SharedLimiter(limiter.RedisBudget.from_url(settings.redis_url), **rates)

    @cached_property
    def directory(self):
        from bot.directory.service import Directory

        return Directory(
            session_factory=self.session_factory,
            include_guests=self.settings.include_guests,
            default_timezone=self.settings.default_timezone,
        )

    def surveys(self):
        """Survey definitions; re-read only when a file in the folder changed.

        Edits apply without a restart, yet the every-minute scheduler tick and each
        button click do not parse the YAML again.
        """
        from bot.surveys.definitions import load_surveys

        folder = self.settings.surveys_dir
        try:
            signature = tuple(
                (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.iterdir())
            )
        except OSError:
            signature = None
        cached = getattr(self, "_surveys_cache", None)
        if signature is None or cached is None or cached[0] != signature:
            cached = (signature, load_surveys(folder))
            self._surveys_cache = cached
        return cached[1]

    @cached_property
    def survey_secret(self) -> bytes:
        """CHANGEBOT_SURVEY_SECRET, else one generated once into the data dir (mode 0600)."""
        if self.settings.survey_secret:
            return self.settings.survey_secret.encode("utf-8")
        import secrets

        from bot.private_files import create_with, private_dir, tighten

        path = self.settings.data_dir / "survey-secret"
        private_dir(path.parent)
        if not path.exists():
            create_with(path, secrets.token_hex(32))
        tighten(path)
        return path.read_text(encoding="utf-8").strip().encode("utf-8")

    @cached_property
    def survey_runs(self):
        from bot.surveys.runs import SurveyRuns

        return SurveyRuns(
            session_factory=self.session_factory,
            secret=self.survey_secret,
            surveys=lambda: self.surveys().surveys,
            labeller=self.sentiment_analyzer,
        )

    @cached_property
    def pulse_planner(self):
        import datetime as dt

        from bot.slack import survey_blocks
        from bot.surveys.planner import PulsePlanner, Recipient

        settings = self.settings

        def audience(survey):
            people = self.directory.active_people()
            chosen = survey.audience
            if not chosen.everyone:
                wanted = {p.user_id for p in self.directory.by_department(chosen.departments)}
                if chosen.usergroups:
                    from bot.slack.directory_source import usergroup_members

                    client = self.slack_client()
                    for group in chosen.usergroups:
                        wanted.update(usergroup_members(client, group))
                people = [p for p in people if p.user_id in wanted]
            return [Recipient(p.user_id, self.directory.timezone(p.user_id)) for p in people]

        def on_close(run):
            self.alert_hr(run)

        return PulsePlanner(
            surveys=lambda: self.surveys().surveys,
            runs=self.survey_runs,
            outbox=self.outbox,
            audience=audience,
            invitation=lambda survey, run: survey_blocks.invitation(survey, run),
            reminder=lambda survey, run: survey_blocks.invitation(survey, run, reminder=True),
            on_close=on_close,
            tz_of=self.directory.timezone,
            grace=dt.timedelta(hours=settings.misfire_grace_hours),
            default_tz=settings.default_timezone,
        )

    def alert_hr(self, run) -> list[str]:
        """After a run closes: tell the HR channel what needs a look (rise, participation)."""
        from bot.surveys.reports import alerts, load_reports

        survey = self.surveys().surveys.get(run.survey_id)
        if survey is None:
            return []
        previous_run = self.survey_runs.previous_closed_run(run.survey_id, run.id)
        report, previous = load_reports(self.survey_runs, survey, run, previous_run)
        found = alerts(
            report,
            previous,
            rise_points=self.settings.resistance_alert_points,
            min_participation=self.settings.participation_alert,
        )
        if found and self.settings.hr_channel and self.settings.slack_bot_token:
            from bot.slack.escaping import escape  # titles and group names are content

            text = f"*{escape(survey.title)}* ({run.due_date}) closed:\n" + "\n".join(
                f"• {escape(line)}" for line in found
            )
            self.slack_client().chat_postMessage(channel=self.settings.hr_channel, text=text)
        return found

    # -- leaders' updates ----------------------------------------------------------------------
    @cached_property
    def leader_role(self):
        """Who may send updates: configured user ids or a Slack user group (cached)."""
        from bot.slack.middleware import LeaderRole

        return LeaderRole(
            user_ids=self.settings.leader_users,
            usergroup=self.settings.leader_usergroup,
            ttl=self.settings.usergroup_cache_seconds,
        )

    @cached_property
    def hr_role(self):
        """Who may see pulse results: configured user ids or a Slack user group (cached)."""
        from bot.slack.middleware import HrRole

        return HrRole(
            user_ids=self.settings.hr_users,
            usergroup=self.settings.hr_usergroup,
            ttl=self.settings.usergroup_cache_seconds,
        )

    @cached_property
    def scheduler(self):
        """APScheduler on our database: jobs (scheduled updates, ticks) survive restarts;
        it runs them only while this replica holds the scheduler lease (bot/scheduling.py).

        Built here, started by `bot.slack.runner.start_housekeeping`.
        """
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        from bot.scheduling import LeaderScheduler, SchedulerLease

        return LeaderScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            daemon=True,
            lease=SchedulerLease(
                session_factory=self.session_factory,
                seconds=self.settings.scheduler_lease_seconds,
            ),
        )

    @cached_property
    def broadcasts(self):
        from apscheduler.jobstores.base import JobLookupError

        from bot.broadcasts.service import Broadcasts
        from bot.slack import broadcast_blocks

        def people(audience) -> list[str]:
            wanted: list[str] = []
            if audience.everyone:
                wanted += [p.user_id for p in self.directory.active_people()]
            wanted += [p.user_id for p in self.directory.by_department(audience.departments)]
            if audience.usergroups:
                from bot.slack.directory_source import usergroup_members

                client = self.slack_client()
                for group in audience.usergroups:
                    wanted += usergroup_members(client, group)
            gone = self.directory.inactive_ids(wanted)
            return [user for user in dict.fromkeys(wanted) if user not in gone]

        def index(update) -> None:
            self.live_documents.put(self.broadcasts.document(update), f"update {update.id}")

        def unindex(update) -> None:
            self.live_documents.take_out(update.source, f"update {update.id}")

        def notify(user_id: str, text: str) -> None:
            from bot.slack.listeners.replies import open_dm

            try:
                client = self.slack_client()
                client.chat_postMessage(channel=open_dm(client, user_id), text=text)
            except Exception:
                log.exception("Could not tell %s: %s", user_id, text)

        def schedule(broadcast_id: int, at) -> None:
            self.scheduler.add_job(
                "bot.slack.runner:send_scheduled_broadcast",
                "date",
                run_date=at,
                args=[broadcast_id],
                id=f"broadcast-{broadcast_id}",
                replace_existing=True,
                misfire_grace_time=None,  # late is better than never: send when back up
            )

        def unschedule(broadcast_id: int) -> None:
            try:
                self.scheduler.remove_job(f"broadcast-{broadcast_id}")
            except JobLookupError:
                pass

        return Broadcasts(
            session_factory=self.session_factory,
            outbox=self.outbox,
            people=people,
            timezone_of=self.directory.timezone,
            render=broadcast_blocks.message,
            index=index,
            unindex=unindex,
            schedule=schedule,
            unschedule=unschedule,
            name_of=self.directory.display_name,
            notify=notify,
            admins=[u.strip() for u in self.settings.broadcast_admins.split(",") if u.strip()],
        )

    # -- the web console ---------------------------------------------------------------------
    @cached_property
    def change_team_role(self):
        """The change team (the console's Playbook page); the HR people when unset."""
        from bot.slack.middleware import HrRole

        settings = self.settings
        if not (settings.change_team_users.strip() or settings.change_team_usergroup):
            return self.hr_role
        return HrRole(user_ids=settings.change_team_users, usergroup=settings.change_team_usergroup)

    @cached_property
    def console_secret(self) -> bytes:
        if self.settings.console_secret:
            return self.settings.console_secret.encode("utf-8")
        return _secret_file(self.settings.data_dir / "console-secret")

    @cached_property
    def sign_in(self):
        from bot.console.auth import SignIn

        return SignIn(
            session_factory=self.session_factory,
            secret=self.console_secret,
            link_url=f"{self.settings.resolved_console_url}/sign-in/link",
            session_hours=self.settings.console_session_hours,
        )

    @cached_property
    def captured(self):
        """The change team's captured answers (approved FAQ entries kept in the database)."""
        from bot.questions.captured import CapturedAnswers, as_document

        # The index is reached only when an entry changes: an ingest (even one switching the
        # embedding model) reads the entries without opening the retriever.
        return CapturedAnswers(
            session_factory=self.session_factory,
            name_of=self.directory.display_name,
            index=lambda e: self.live_documents.put(as_document(e), f"captured answer {e.id}"),
            unindex=lambda e: self.live_documents.take_out(e.source, f"captured answer {e.id}"),
        )

    @cached_property
    def live_documents(self):
        from bot.knowledge.live import LiveDocuments

        return LiveDocuments(indexer=self.indexer, retriever=self.retriever)

    @cached_property
    def gap_finder(self):
        from bot.questions.gaps import GapFinder

        return GapFinder(
            session_factory=self.session_factory,
            embed=self.embeddings.embed_documents,
            distance=self.settings.gaps_distance,
        )

    @cached_property
    def answer_writers(self):
        """Who may write the playbook's answers in Slack: the change-team channel's members
        and the change team's user group."""
        from bot.slack.answer_writers import AnswerWriters

        return AnswerWriters(
            channel=self.settings.change_team_channel,
            usergroup=self.settings.change_team_usergroup,
        )

    @cached_property
    def agent_view(self):
        from bot.questions.agent_view import AgentView

        return AgentView(session_factory=self.session_factory, insights=self.question_insights)

    @cached_property
    def question_insights(self):
        """What people asked: most asked, unanswered, per update (console, Messages tab)."""
        from bot.questions.insights import QuestionInsights

        return QuestionInsights(session_factory=self.session_factory)

    @cached_property
    def theme_finder(self):
        from bot.surveys.themes import ThemeFinder

        return ThemeFinder(embed=self.embeddings.embed_documents, analyzer=self.sentiment_analyzer)

    @cached_property
    def ingest_log(self):
        from bot.knowledge.ingest_log import IngestLog

        return IngestLog(session_factory=self.session_factory)

    @cached_property
    def console_deps(self):
        from bot.console.deps import ConsoleDeps, RoleChecks
        from bot.console.oidc import SlackOpenId
        from bot.surveys.overview import PulseOverview

        settings = self.settings
        openid = None
        if settings.slack_client_id and settings.slack_client_secret:
            openid = SlackOpenId(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                api_url=settings.slack_api_url,
                team_id=self.team_id,
            )
        return ConsoleDeps(
            sign_in=self.sign_in,
            roles=RoleChecks(
                hr=self.hr_role,
                leader=self.leader_role,
                change_team=self.change_team_role,
                client=self.slack_client,
            ),
            pulse=PulseOverview(
                runs=self.survey_runs,
                surveys=lambda: self.surveys().surveys,
                rise_points=settings.resistance_alert_points,
                min_participation=settings.participation_alert,
                themes=self.theme_finder,
            ),
            broadcasts=self.broadcasts,
            questions=self.question_insights,
            ingest_log=self.ingest_log,
            documents_indexed=self.documents_indexed,
            directory=self.directory,
            base_url=settings.resolved_console_url,
            openid=openid,
        )

    def documents_indexed(self) -> int:
        """Playbook documents (and updates) in the live index generation; Chroma is not opened."""
        return self.generations.record_manager(self.generations.active()).count_groups()

    def team_id(self) -> str | None:
        """The workspace the bot is installed in (auth.test, asked once); None without Slack."""
        if not self.settings.slack_bot_token:
            return None
        if getattr(self, "_team_id", None) is None:
            self._team_id = self.slack_client().auth_test().get("team_id")
        return self._team_id


def _secret_file(path) -> bytes:
    """A random secret kept in `path`, created readable by its owner only from the start."""
    import os
    import secrets

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text(encoding="utf-8").strip().encode("utf-8")
