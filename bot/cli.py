"""`changebot` commands. Thin: parse, call a service, print."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.config import Settings, SettingsError, load_settings
from bot.knowledge.answer import Answer
from bot.knowledge.embeddings import EmbeddingModelError
from bot.knowledge.index import IngestError, IngestReport
from bot.knowledge.store import EmbeddingModelMismatch
from bot.store.db import DatabaseUnavailable

app = typer.Typer(
    help="changebot: answers from your change playbook, with sources.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for this knowledge base's index and database."),
]


def _container(data_dir: Path | None = None, **overrides):
    from bot.container import Container

    try:
        settings = load_settings(data_dir=data_dir, **overrides)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _logging(settings)
    return Container(settings)


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("chromadb", "httpx", "sentence_transformers", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]{message}[/red]")
    return typer.Exit(code)


@app.command()
def ingest(
    path: Annotated[
        Path | None, typer.Argument(help="Folder of documents (default: the knowledge dir).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and embed everything again.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Index a folder of documents incrementally (unchanged files are not re-embedded)."""
    container = _container(data_dir)
    root = path or container.settings.knowledge_dir
    try:
        with Progress(
            TextColumn("Indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("files", total=None)
            report = container.indexer.ingest(
                root,
                rebuild=rebuild,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except (IngestError, EmbeddingModelMismatch, EmbeddingModelError) as exc:
        raise _fail(str(exc)) from exc
    container.ingest_log.record(report, root)  # for the console's Playbook page
    _print_report(report, root)
    if report.indexed_files == 0:
        raise _fail("Nothing could be indexed.", 1)


def _print_report(report: IngestReport, root: Path) -> None:
    console.print(
        f"Indexed [bold]{root}[/bold]: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.deleted)} deleted, "
        f"{len(report.failed) + len(report.skipped)} skipped "
        f"({report.chunks_total} chunks; {report.texts_embedded} embedded this run)."
    )
    for path in report.deleted:
        console.print(f"  deleted  {path}")
    for path, reason in report.failed:
        console.print(f"  [yellow]failed[/yellow]   {path}: {reason}")
    for path, reason in report.skipped:
        console.print(f"  skipped  {path}: {reason}")
    for path, warning in report.warnings:
        console.print(f"  [yellow]warning[/yellow]  {path}: {warning}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, or '-' to read one per line.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    doc_type: Annotated[
        str | None, typer.Option("--type", help="Only this document type (faq, roadmap, …).")
    ] = None,
    audience: Annotated[str | None, typer.Option(help="Only documents for this audience.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Answer a question from the playbook, with sources."""
    container = _container(data_dir)
    try:
        answerer = container.answerer
        if answerer.retriever.is_empty:
            if as_json:
                print(json.dumps(answerer.answer(question if question != "-" else "?").to_json()))
            raise _fail(container.prompts.get("empty_index").render(), 1)
        questions = (line for line in sys.stdin) if question == "-" else iter([question])
        for text in questions:
            if not text.strip():
                continue
            answer = answerer.answer(text, doc_type=doc_type, audience=audience)
            if as_json:
                print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
            else:
                _print_answer(answer)
    except (EmbeddingModelMismatch, EmbeddingModelError) as exc:
        raise _fail(str(exc)) from exc


def _print_answer(answer: Answer) -> None:
    console.print(answer.text, markup=False, highlight=False)
    if answer.sources:
        label = "Sources" if answer.confident else "Closest passages"
        console.print(f"\n[bold]{label}[/bold]")
        for source in answer.sources:
            where = source.url or source.path
            section = f" — {source.section}" if source.section else ""
            console.print(f"  [{source.number}] {source.title}{section} ({where})", markup=False)


@app.command()
def chat(data_dir: DataDir = None) -> None:
    """Ask questions in the terminal (the bot without Slack). Ctrl-D or 'quit' ends it."""
    container = _container(data_dir)
    try:
        answerer = container.answerer
        empty = answerer.retriever.is_empty
    except (EmbeddingModelMismatch, EmbeddingModelError) as exc:
        raise _fail(str(exc)) from exc
    console.print("[bold]changebot[/bold] — ask about the change programme. Ctrl-D to leave.")
    if empty:
        console.print(container.prompts.get("empty_index").render())
    while True:
        try:
            question = console.input("[bold cyan]you>[/bold cyan] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if question.strip().lower() in {"quit", "exit", ":q"}:
            return
        if question.strip():
            _print_answer(answerer.answer(question))
            console.print()


@app.command()
def run(
    http: Annotated[
        bool, typer.Option("--http", help="Serve the Events API over HTTP instead of Socket Mode.")
    ] = False,
    port: Annotated[int | None, typer.Option(help="Port for --http.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Start the Slack bot (Socket Mode, or HTTP with --http); without Slack, the terminal chat."""
    from bot.slack import runner

    container = _container(data_dir)
    settings = container.settings
    if http and not settings.console_url:
        # Sign-in links point at this process's own /console unless a public URL is set.
        local = f"http://localhost:{port or settings.http_port}/console"
        container.settings = settings = settings.model_copy(update={"console_url": local})
    missing = runner.missing_credentials(settings, http=http)
    if missing:
        err.print("[yellow]Slack is not configured, so the bot runs in this terminal.[/yellow]")
        for name in missing:
            err.print(f"  missing {name}: {runner.HOW_TO[name]}")
        err.print("  Create the app from manifest.yml (see README, 'Connecting to Slack').")
        chat(data_dir=data_dir)
        return
    problem = runner.survey_secret_problem(settings, http=http)
    if problem:
        raise _fail(problem)
    try:
        if http:
            runner.run_http(container, port=port or settings.http_port)
        else:
            runner.run_socket_mode(container)
    except (EmbeddingModelMismatch, EmbeddingModelError) as exc:
        raise _fail(str(exc)) from exc


@app.command(name="console")
def console_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (default CHANGEBOT_CONSOLE_PORT, 8080).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the web console on its own (for Socket Mode); `run --http` also serves it."""
    from bot.slack import runner

    container = _container(data_dir)
    settings = container.settings
    if not settings.slack_bot_token:
        err.print(
            "[yellow]SLACK_BOT_TOKEN is not set: sign-in links come from the bot in Slack, "
            "so nobody can sign in until the bot runs with its token.[/yellow]"
        )
    runner.run_console(container, port=port or settings.console_port, host=host)


def _mount_subcommands() -> None:
    from bot.cli_broadcasts import make_broadcast_app
    from bot.cli_directory import make_directory_app
    from bot.cli_eval import make_eval_command
    from bot.cli_gaps import make_knowledge_app, register_gaps
    from bot.cli_surveys import make_eval_sentiment, make_survey_app
    from bot.cli_themes import make_eval_themes

    app.add_typer(make_directory_app(_container), name="directory", help="Who the employees are.")
    app.add_typer(make_broadcast_app(_container), name="broadcast", help="Leaders' updates.")
    register_gaps(app, _container)
    app.add_typer(
        make_knowledge_app(_container), name="knowledge", help="The change team's captured answers."
    )
    survey_app = make_survey_app(_container)

    @survey_app.command("run")
    def survey_run(
        survey_id: Annotated[str, typer.Argument(help="The survey's id.")],
        now: Annotated[bool, typer.Option("--now", help="Start a run for today at once.")] = False,
        deliver: Annotated[
            bool,
            typer.Option(
                help="Send the DMs from this process when no bot is running "
                "(a running bot always sends them)."
            ),
        ] = True,
        data_dir: DataDir = None,
    ) -> None:
        """Start a run of a survey now (never twice for the same day)."""
        container = _container(data_dir)
        if not now:
            raise _fail("Scheduled runs start by themselves; use --now to start one today.")
        if not container.settings.slack_bot_token:
            raise _fail("SLACK_BOT_TOKEN is not set: " + _HOW_TO_TOKEN)
        survey = container.surveys().surveys.get(survey_id)
        if survey is None:
            raise _fail(f"No valid survey '{survey_id}'; run `changebot survey validate`.")
        run, created = container.pulse_planner.send_now(survey)
        if run is None:
            raise _fail("Nobody is in this survey's audience; run `changebot directory sync`.", 1)
        console.print(
            f"Run {run.id} of {survey.title} for {run.due_date}: "
            + ("started." if created else "already started today; not sent twice.")
        )
        if deliver:
            bots = container.delivery_worker.running_bots()
            if bots:
                # Two senders are safe (claims are atomic) but would split the rate budget.
                console.print(f"A bot is running ({bots[0]}): the running bot will send them.")
                return
            container.delivery_worker.drain(timeout=3600)
            counts = container.outbox.counts(f"pulse-{run.id}")
            console.print(
                f"Delivered: {counts.get('sent', 0)} sent, {counts.get('failed', 0)} failed."
            )

    app.add_typer(survey_app, name="survey", help="Pulse surveys.")
    app.command("eval-sentiment")(make_eval_sentiment(_container))
    app.command("eval")(make_eval_command(_container))
    app.command("eval-themes")(make_eval_themes(lambda: _container().embeddings))


_HOW_TO_TOKEN = "the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page."
_mount_subcommands()


def main() -> None:  # console-script entry
    try:
        app()
    except SettingsError as exc:  # pragma: no cover - surfaced by _container already
        err.print(f"[red]{exc}[/red]")
        raise SystemExit(2) from exc
    except DatabaseUnavailable as exc:
        err.print(f"[red]{exc}[/red]")
        raise SystemExit(3) from exc


if __name__ == "__main__":
    main()
