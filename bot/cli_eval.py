"""`changebot eval`: quality on the sample and on every evaluation corpus. Thin: parse,
run (bot/knowledge/eval_run.py), print.

`make_eval_command(get_container)` returns the command; `get_container(data_dir,
**overrides)` gives the Container whose settings and embedding model every corpus shares.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.knowledge.eval_scoring import Macro, Metrics

DEFAULT_QUESTIONS = Path("tests/eval/questions.yaml")
DEFAULT_CORPORA = Path("tests/eval/corpora")
# The tuned numbers a run may change with --set (each is also a CHANGEBOT_* setting).
TUNABLE = (
    "abstain_threshold",
    "faq_match_threshold",
    "keyword_weight",
    "faq_weight",
    "rrf_k",
    "recency_tie_margin",
    "announcement_margin",
    "retrieval_candidates",
)

console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]{message}[/red]", markup=True, highlight=False)
    return typer.Exit(code)


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().replace("-", "_").lower()
        if not sep or name not in TUNABLE:
            raise ValueError(
                f"--set {pair!r}: expected NAME=VALUE with NAME one of {', '.join(TUNABLE)}"
            )
        overrides[name] = value.strip()
    return overrides


def make_eval_command(get_container: Callable[..., Any]) -> Callable[..., None]:
    def eval_command(
        questions_file: Annotated[
            Path, typer.Argument(help="The sample's questions YAML (scored as in-sample).")
        ] = DEFAULT_QUESTIONS,
        knowledge: Annotated[
            Path | None,
            typer.Option(help="The sample's documents (default: the knowledge dir)."),
        ] = None,
        corpus: Annotated[
            list[Path] | None,
            typer.Option(
                "--corpus",
                help="A corpus folder (knowledge/ + questions.yaml); repeatable. "
                f"Default: every folder under {DEFAULT_CORPORA}.",
            ),
        ] = None,
        sample: Annotated[
            bool, typer.Option("--sample/--no-sample", help="Also score the sample.")
        ] = True,
        loco: Annotated[
            bool,
            typer.Option(
                "--loco", help="Tune the abstain threshold leave-one-corpus-out; print held-out."
            ),
        ] = False,
        settings_set: Annotated[
            list[str] | None,
            typer.Option("--set", help=f"NAME=VALUE for this run; NAME in {', '.join(TUNABLE)}."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print everything as JSON.")] = False,
        show_misses: Annotated[
            bool, typer.Option(help="List the bot's misses and wrong abstentions.")
        ] = False,
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Unused: every corpus is indexed in a temp folder."),
        ] = None,
    ) -> None:
        """hit@1, hit@3, MRR, answer-contains and abstention per corpus and macro-averaged,
        beside dense-only, BM25-only and the LangChain tutorial pipeline."""
        import bot.container
        from bot.knowledge.embedding_cache import HashCachedEmbeddings
        from bot.knowledge.eval_corpora import (
            discover_corpora,
            load_corpus,
            sample_corpus,
        )
        from bot.knowledge.eval_run import run_eval
        from bot.knowledge.evaluate import EvalFileError

        try:
            overrides = parse_overrides(settings_set or [])
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        base = get_container(data_dir, **overrides)
        if not base.settings.torch_threads:
            # Eval encodes one question at a time: on a shared 2-core machine torch's
            # default (a thread per core) made each 20x slower than one thread.
            base.settings = base.settings.model_copy(update={"torch_threads": 1})
        corpora, errors = [], []
        if sample:
            try:
                corpora.append(
                    sample_corpus(questions_file, knowledge or base.settings.knowledge_dir)
                )
            except EvalFileError as exc:
                raise _fail(str(exc)) from exc
        for folder in corpus if corpus else discover_corpora(DEFAULT_CORPORA):
            try:
                corpora.append(load_corpus(folder))
            except EvalFileError as exc:
                errors.append(str(exc))
        if not corpora:
            raise _fail("Nothing to evaluate: " + ("; ".join(errors) or "no corpus given."))

        cache = HashCachedEmbeddings(base.embeddings)

        def make_container(folder: Path, knowledge_dir: Path):
            settings = base.settings.model_copy(
                update={
                    "data_dir": folder,
                    "knowledge_dir": knowledge_dir,
                    "database_url": None,
                    "chroma_url": None,
                }
            )
            return bot.container.Container(settings, embeddings=cache, model_id=base.model_id)

        run = run_eval(
            corpora,
            make_container=make_container,
            embeddings=cache,
            threshold=base.settings.abstain_threshold,
            loco=loco,
            errors=errors,
        )
        if as_json:
            print(json.dumps(run.to_json(), ensure_ascii=False))
        else:
            render(run, show_misses=show_misses)
        if run.errors:
            raise typer.Exit(1)

    return eval_command


# -- printing -------------------------------------------------------------------------------
def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _count(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "—"


def _row(m: Metrics) -> list[str]:
    return [
        f"{m.hit1:.3f}",
        f"{m.hit3:.3f}",
        f"{m.mrr:.3f}",
        _rate(m.contains),
        _count(m.unanswerable_abstained, m.unanswerable),
        _count(m.answerable_wrongly_abstained, m.answerable),
    ]


def _macro_row(m: Macro) -> list[str]:
    return [
        f"{m.hit1:.3f}",
        f"{m.hit3:.3f}",
        f"{m.mrr:.3f}",
        _rate(m.contains),
        _rate(m.abstained_rate),
        _rate(m.wrongly_abstained_rate),
    ]


COLUMNS = ("hit@1", "hit@3", "MRR", "contains", "unans. abstained", "wrongly abstained")


def _table(title: str, first: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first, no_wrap=True)
    for column in COLUMNS:
        table.add_column(column, justify="right")
    return table


def render(run, *, show_misses: bool = False) -> None:
    from bot.knowledge.eval_run import LABELS, SYSTEMS
    from bot.knowledge.eval_scoring import macro

    for result in run.results:
        corpus = result.corpus
        label = (
            "sample playbook (in-sample: its numbers were tuned on it)"
            if (corpus.in_sample)
            else corpus.name
        )
        table = _table(
            f"{label}: {corpus.answerable} answerable + {corpus.unanswerable} unanswerable "
            f"questions, {result.chunks} chunks, abstain threshold {run.threshold:.2f}, "
            f"{result.seconds:.0f} s",
            "system",
        )
        for system in SYSTEMS:
            table.add_row(LABELS[system], *_row(run.metrics(result, system)))
        console.print(table)
        for path, reason in result.failed_files:
            console.print(f"  [yellow]failed[/yellow] {path}: {reason}", highlight=False)
        for warning in corpus.warnings:
            console.print(f"  [yellow]warning[/yellow] {warning}", highlight=False)
        steps = [(t, m) for t, m in run.calibration(result) if round(t * 1000) % 50 == 0]
        console.print(
            "  Calibration (threshold -> unanswerable abstained / answerable wrongly abstained): "
            + "  ".join(
                f"{t:.2f}:{_rate(m.abstained_rate)}/{_rate(m.wrongly_abstained_rate)}"
                for t, m in steps
            ),
            highlight=False,
        )
        if show_misses:
            _print_misses(result, run.threshold)
    if run.corpora:
        table = _table(f"Macro average over {len(run.corpora)} corpora (not the sample)", "system")
        for system in SYSTEMS:
            table.add_row(
                LABELS[system], *_macro_row(macro([run.metrics(r, system) for r in run.corpora]))
            )
        console.print(table)
    if run.folds is not None:
        table = _table(
            "Leave-one-corpus-out: abstain threshold tuned on the other corpora (most "
            "unanswerable abstained with at most 10 % answerable wrongly abstained), "
            "figures on the held-out one",
            "held out (threshold)",
        )
        for fold in run.folds:
            table.add_row(f"{fold.held_out} ({fold.threshold:.3f})", *_row(fold.metrics))
        table.add_row("macro", *_macro_row(macro([f.metrics for f in run.folds])))
        console.print(table)
        console.print(
            f"Threshold chosen on all {len(run.corpora)} corpora together: "
            f"{run.all_corpora_threshold:.3f} (this run used {run.threshold:.3f})",
            highlight=False,
        )
    for error in run.errors:
        err.print(f"[red]{error}[/red]", highlight=False)
    console.print(
        f"{run.seconds:.0f} s; {run.encoded} texts encoded, {run.reused} served from the "
        "content-hash cache.",
        highlight=False,
    )


def _print_misses(result, threshold: float) -> None:
    for outcome in result.outcomes["ours"]:
        if outcome.answerable and (outcome.rank is None or outcome.rank > 3):
            console.print(f"  miss@3 [hybrid] {outcome.question}", markup=False)
        if outcome.answerable and outcome.abstained(threshold):
            console.print(f"  wrongly abstained [hybrid] {outcome.question}", markup=False)
        elif outcome.answerable and outcome.contains is False:
            console.print(f"  phrase missing [hybrid] {outcome.question}", markup=False)
        if not outcome.answerable and not outcome.abstained(threshold):
            console.print(f"  answered unanswerable [hybrid] {outcome.question}", markup=False)
