"""`changebot broadcast …`: leaders' updates from the terminal. Thin: parse, call, print.

`make_broadcast_app(get_container)` returns the Typer sub-app; `get_container(data_dir)`
gives an object with `.broadcasts` (bot.broadcasts.service.Broadcasts).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for this knowledge base's index and database."),
]


def make_broadcast_app(get_container: Callable[[Path | None], Any]) -> typer.Typer:
    app = typer.Typer(
        help="Leaders' updates: what went out, to whom, and what happened since.",
        no_args_is_help=True,
        add_completion=False,
    )

    @app.command("list")
    def list_updates(
        limit: Annotated[int, typer.Option(help="How many recent updates.")] = 20,
        data_dir: DataDir = None,
    ) -> None:
        """Scheduled updates, then recent ones with delivery and acknowledgement figures."""
        broadcasts = get_container(data_dir).broadcasts
        scheduled = broadcasts.scheduled()
        recent = broadcasts.recent(limit=limit)
        if not scheduled and not recent:
            typer.echo("No updates yet.")
            return
        for update in scheduled:
            local = " (each recipient's own time zone)" if update.local_time else ""
            typer.echo(
                f"#{update.id} scheduled {update.send_at:%Y-%m-%d %H:%M} UTC{local}  "
                f"{update.title}  by {update.author}"
            )
        for update in recent:
            stats = broadcasts.stats(update.id)
            share = f" ({stats.ack_share:.0%})" if stats.ack_share is not None else ""
            acks = (
                f", acknowledged {stats.acknowledged}/{stats.delivered_dms}{share}"
                if update.ask_ack
                else ""
            )
            when = update.sent_at or update.send_at or update.created_at
            typer.echo(
                f"#{update.id} {update.status} {when:%Y-%m-%d %H:%M} UTC  "
                f"{update.title}  by {update.author}\n"
                f"    delivered {stats.delivered_dms} DMs + {stats.delivered_channels} channels, "
                f"{stats.failed} failed, {stats.waiting} waiting{acks}, "
                f"{stats.questions} questions"
            )

    @app.command()
    def audit(
        broadcast_id: Annotated[
            int | None, typer.Argument(help="One update's id (default: all).")
        ] = None,
        as_csv: Annotated[bool, typer.Option("--csv", help="CSV for a spreadsheet.")] = False,
        data_dir: DataDir = None,
    ) -> None:
        """Who scheduled, sent, edited, reminded, cancelled or recalled what, and when."""
        entries = get_container(data_dir).broadcasts.audit_log(broadcast_id)
        if as_csv:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["at", "update", "actor", "action", "detail"])
            for entry in entries:
                writer.writerow(
                    [
                        entry["at"].isoformat(),
                        entry["broadcast_id"],
                        entry["actor"],
                        entry["action"],
                        json.dumps(entry["detail"], ensure_ascii=False, sort_keys=True),
                    ]
                )
            typer.echo(out.getvalue(), nl=False)
            return
        if not entries:
            typer.echo(
                "Nothing in the audit log" + (f" for #{broadcast_id}." if broadcast_id else ".")
            )
            return
        for entry in entries:
            detail = entry["detail"]
            counts = ", ".join(
                f"{key} {value}"
                for key, value in detail.items()
                if key in {"dms", "channels", "reminded", "updated", "deleted", "stopped"}
            )
            typer.echo(
                f"{entry['at']:%Y-%m-%d %H:%M:%S} UTC  #{entry['broadcast_id']} "
                f"{entry['action']} by {entry['actor']}: {detail.get('title', '')}"
                + (f" ({counts})" if counts else "")
            )

    return app
