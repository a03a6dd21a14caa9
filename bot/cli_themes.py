"""`changebot eval-themes FILE… [--json]`: the themes' grouping against hand-grouped runs.

`make_eval_themes(get_embeddings)` returns the command; `get_embeddings()` gives an
object with `embed_documents` (the container's embedder), so tests hand in the fake one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer


def make_eval_themes(get_embeddings: Callable[[], object]) -> Callable[..., None]:
    def eval_themes(
        files: Annotated[
            list[Path],
            typer.Argument(help="Hand-grouped comments YAML (see tests/eval/themes/)."),
        ],
        as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    ) -> None:
        """Adjusted Rand index of the themes' grouping against a grouping made by hand."""
        from bot.surveys.theme_eval import GroupedFileError, evaluate_grouping

        embed = get_embeddings().embed_documents
        try:
            results = [evaluate_grouping(path, embed) for path in files]
        except GroupedFileError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        mean = sum(r.ari for r in results) / len(results)
        if as_json:
            payload = {"runs": [r.as_dict() for r in results], "mean_ari": round(mean, 4)}
            typer.echo(json.dumps(payload, indent=2))
            return
        width = max(len(Path(r.path).name) for r in results) + 2
        typer.echo(f"{'run':<{width}}{'comments':>9}{'by hand':>9}{'found':>7}{'ARI':>8}")
        for r in results:
            typer.echo(
                f"{Path(r.path).name:<{width}}{r.comments:>9}{r.groups_by_hand:>9}"
                f"{r.groups_found:>7}{r.ari:>8.3f}"
            )
        typer.echo(f"mean ARI over {len(results)} run(s): {mean:.3f}")
        for r in results:
            typer.echo(f"\n{Path(r.path).name}: groups found, largest first")
            typer.echo("\n".join(f"  - {name}" for name in r.names))

    return eval_themes
