"""`changebot gaps` and `changebot knowledge …`: the knowledge-gap loop from the terminal.

`gaps` lists what the bot could not answer, grouped by meaning; `knowledge` lists, edits,
retires and exports the change team's captured answers. Thin: parse, call, print.
`get_container(data_dir)` gives an object with `.gap_finder`, `.captured`, `.indexer`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from bot.questions.captured import EXPORT_NAME, Invalid, NotFound
from bot.questions.gaps import KIND_LABELS, parse_since
from bot.timeutil import utcnow

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for this knowledge base's index and database."),
]


def register_gaps(app: typer.Typer, get_container: Callable[[Path | None], Any]) -> None:
    @app.command()
    def gaps(
        since: Annotated[
            str, typer.Option(help="How far back: 7d, 24h, 2w or a date (2026-11-01).")
        ] = "7d",
        limit: Annotated[int, typer.Option(help="Groups to show at most (0 = all).")] = 20,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print machine-readable JSON.")
        ] = False,
        data_dir: DataDir = None,
    ) -> None:
        """Questions the bot abstained on, got 👎 for or escalated, grouped by meaning."""
        try:
            start = parse_since(since, now=utcnow())
        except ValueError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        groups = get_container(data_dir).gap_finder.gaps(start, limit=limit or None)
        if as_json:
            print(json.dumps([group.to_json() for group in groups], ensure_ascii=False, indent=2))
            return
        if not groups:
            console.print(f"No unanswered questions since {start:%Y-%m-%d %H:%M} UTC.")
            return
        for number, group in enumerate(groups, start=1):
            why = ", ".join(
                f"{KIND_LABELS[k]} ×{group.kinds[k]}" for k in KIND_LABELS if group.kinds[k]
            )
            console.print(f"{number}. [bold]{group.question}[/bold]  {group.count}× ({why})")
            for phrasing in group.phrasings:
                if phrasing != group.question:
                    console.print(f"   also: {phrasing}")


def make_knowledge_app(get_container: Callable[[Path | None], Any]) -> typer.Typer:
    app = typer.Typer(
        help="The change team's captured answers (approved FAQ entries kept in the database).",
        no_args_is_help=True,
        add_completion=False,
    )

    @app.command("list")
    def list_answers(data_dir: DataDir = None) -> None:
        """Approved captured answers."""
        entries = get_container(data_dir).captured.approved()
        if not entries:
            console.print("No captured answers yet.")
        for entry in entries:
            console.print(f"{entry.id}. [bold]{entry.question}[/bold] — {entry.byline}")

    @app.command("edit")
    def edit_answer(
        entry_id: Annotated[int, typer.Argument(help="The answer's number (knowledge list).")],
        answer: Annotated[str | None, typer.Option(help="The new answer (Slack mrkdwn).")] = None,
        question: Annotated[str | None, typer.Option(help="The new question.")] = None,
        source: Annotated[str | None, typer.Option(help="The new source link.")] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Change a captured answer; the index follows at once."""
        captured = get_container(data_dir).captured
        try:
            entry = captured.get(entry_id)
            entry = captured.edit(
                entry_id,
                question=question if question is not None else entry.question,
                answer=answer if answer is not None else entry.answer,
                source_url=source if source is not None else entry.source_url,
                actor="cli",
            )
        except (NotFound, Invalid) as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        console.print(f"Updated {entry.id}: {entry.question}")

    @app.command("retire")
    def retire_answer(
        entry_id: Annotated[int, typer.Argument(help="The answer's number (knowledge list).")],
        data_dir: DataDir = None,
    ) -> None:
        """Stop giving a captured answer (kept in the database, out of the index)."""
        try:
            entry, changed = get_container(data_dir).captured.retire(entry_id, "cli")
        except NotFound as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        console.print(f"Retired {entry.id}." if changed else f"{entry.id} was retired already.")

    @app.command("export")
    def export_answers(
        folder: Annotated[Path, typer.Argument(help="Folder to write the FAQ file into.")],
        data_dir: DataDir = None,
    ) -> None:
        """Write the captured answers as a Markdown FAQ file that `changebot ingest` reads."""
        container = get_container(data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / EXPORT_NAME
        path.write_text(container.captured.export_markdown(), encoding="utf-8")
        count = len(container.captured.approved())
        console.print(f"Wrote {count} answers to {path}")

    return app
