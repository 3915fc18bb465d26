"""The `friction` command line: thin shells over the library."""

from __future__ import annotations

import json
import os
import sys

import click

from . import __version__
from .ingest.registry import FORMATS
from .settings import current_settings, refresh_settings


def fail(message: str) -> None:
    """Exit non-zero with one clear line."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class FrictionGroup(click.Group):
    """Turns every UserError (a bad path, a locked or corrupt store, a missing key) into one line."""

    def invoke(self, ctx: click.Context):
        from .errors import UserError

        try:
            return super().invoke(ctx)
        except UserError as exc:
            fail(str(exc))


@click.group(cls=FrictionGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="friction")
def cli() -> None:
    """Find friction between teams in a company's email, chat and meeting notes.

    Example: friction ingest exports/ -o messages.parquet
    """
    refresh_settings()  # the one read of the environment for this command (see friction/settings.py)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, help="Output table: .parquet, .csv, .jsonl, or - for JSONL on stdout.")
@click.option("--format", "fmt", default=None,
              type=click.Choice(FORMATS),
              help="Read every file as this format instead of detecting it.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False),
              help="CSV mapping email/handle/name to team; others get team 'unknown'.")
@click.option("--map", "mapping", default=None, metavar="OURS=THEIRS,...",
              help="Column names of input tables, e.g. text=body,author=sender.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingestion summary as JSON on stderr.")
@click.option("--max-chars", type=click.IntRange(1_000, 1_000_000), default=50_000, show_default=True,
              help="Cut each message's text after this many characters (each cut is counted).")
def ingest(paths, output, fmt, roster, mapping, as_json, max_chars):
    """Read exports (files, folders, zips) into one clean message table.

    Formats: mbox, .eml, Maildir, Outlook .msg, PST, Slack export, Teams Graph
    JSON, WebVTT/SRT transcripts, meeting notes (.md/.txt/.docx), CSV/JSONL/Parquet.

    Example: friction ingest mail.mbox slack-export.zip notes/ --roster roster.csv -o messages.parquet
    """
    from tqdm.auto import tqdm

    from .api import read_messages
    from .ingest import IngestSummary, parse_mapping
    from .tables import TableWriter, table_format

    summary = IngestSummary()
    try:
        table_format(output)
        chunks = read_messages(paths, fmt=fmt, roster=roster, mapping=parse_mapping(mapping), summary=summary,
                               max_chars=max_chars)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    with TableWriter(output) as out, tqdm(desc="ingesting", unit="msg", disable=None, file=sys.stderr) as bar:
        for chunk in chunks:
            out.write(chunk)
            bar.update(len(chunk))
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2), err=True)
    else:
        click.echo(summary.text(), err=True)
        if output != "-":
            click.echo(f"wrote {summary.kept} messages to {output}", err=True)
    if summary.kept == 0 and summary.read == 0:
        sys.exit(1)


MODEL_OPTION = click.option("--model", "model_path", default=None, type=click.Path(file_okay=False),
                            help="Model folder (default: the shipped models/default).")


def _load_model(model_path, cascade: bool = True):
    """The model folder's pipeline (without its screen when `cascade` is False)."""
    from .api import load_model

    try:
        pipe = load_model(model_path)
    except (FileNotFoundError, OSError, ValueError, KeyError) as exc:
        fail(str(exc))
    return pipe if cascade else pipe.without("screen")


def _read_inputs(inputs, fmt=None, roster=None, echo=True):
    """Anything `friction ingest` reads (or its output), as message-table chunks plus the summary."""
    from .api import read_messages
    from .ingest import IngestSummary

    summary = IngestSummary(echo=echo)
    try:
        return read_messages(inputs, fmt=fmt, roster=roster, summary=summary), summary
    except (ValueError, OSError) as exc:
        fail(str(exc))


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, help="Output table: .parquet, .csv, .jsonl, or - for JSONL on stdout.")
@MODEL_OPTION
@click.option("--roster", type=click.Path(exists=True, dir_okay=False), help="CSV mapping people to teams.")
@click.option("--no-evidence", is_flag=True, help="Skip evidence sentences (faster).")
@click.option("--no-cascade", is_flag=True, help="Send every message to the transformer (skip the fast screen).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stderr.")
def classify(inputs, output, model_path, roster, no_evidence, no_cascade, as_json):
    """Label every message found in INPUTS with a score and a decision per label.

    INPUTS is anything `friction ingest` reads, or its output. Each row gains
    score_<label> (calibrated probability), flag_<label>, labels and evidence
    (the sentences that drove each label, as JSON).

    Example: friction classify exports/ -o labelled.parquet
    """
    from tqdm.auto import tqdm

    from .tables import TableWriter, table_format

    try:
        table_format(output)
    except ValueError as exc:
        fail(str(exc))
    model = _load_model(model_path, cascade=not no_cascade)
    chunks, summary = _read_inputs(inputs, roster=roster)
    batch = current_settings().classify_batch
    flagged = 0
    with TableWriter(output) as out, tqdm(desc="classifying", unit="msg", disable=None, file=sys.stderr) as bar:
        for chunk in chunks:
            for start in range(0, len(chunk), batch):
                part = model(chunk.iloc[start:start + batch], with_evidence=not no_evidence)
                flagged += int((part["labels"] != "").sum())
                out.write(part)
                bar.update(len(part))
    result = {"model": model.model_id, "messages": summary.kept, "flagged": flagged, "runtime": model.runtime,
              "pipeline": model.names, "ingest": summary.as_dict()}
    if as_json:
        click.echo(json.dumps(result, indent=2), err=True)
    else:
        click.echo(summary.text(), err=True)
        click.echo(f"{flagged} of {summary.kept} messages carry at least one label (model {model.model_id})", err=True)
    if summary.kept == 0 and summary.read == 0:
        sys.exit(1)


@cli.command()
@click.argument("data", type=click.Path(exists=True))
@MODEL_OPTION
@click.option("--split", default="test", show_default=True,
              help="Which split of DATA to score (ignored when DATA has no splits).")
@click.option("--train-data", type=click.Path(exists=True), default=None,
              help="Labelled data the baselines train on (default: DATA's train/dev splits).")
@click.option("--baselines/--no-baselines", default=True, show_default=True,
              help="Also train and score keyword, TF-IDF, frozen-MiniLM and zero-shot baselines.")
@click.option("--no-cascade", is_flag=True, help="Score the transformer on every message (skip the fast screen).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate(data, model_path, split, train_data, baselines, no_cascade, as_json):
    """Score a model on labelled DATA, next to the baselines a user would otherwise reach for.

    Prints per-label precision/recall/F1, macro and micro F1, the false-alarm rate on
    `none` messages and on hard negatives, and expected calibration error.

    Example: friction evaluate --model models/default corpora/train
    """
    from .api import evaluate as evaluate_model
    from .model.metrics import format_table

    try:
        figures = evaluate_model(data, model=model_path, split=split, train_data=train_data, baselines=baselines,
                                 cascade=not no_cascade)
    except (ValueError, OSError, KeyError) as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(figures["results"], indent=2))
    else:
        click.echo(f"{data} ({figures['split']}): {figures['n']} messages; "
                   f"pipeline {' -> '.join(figures['pipeline'])} on {figures['runtime']}")
        click.echo(format_table(figures["results"], figures["label_ids"]))


@cli.command()
@click.argument("data", type=click.Path(exists=True), required=False)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="New model folder.")
@click.option("--recipe", "recipe_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Train as a recipe file says (e.g. models/default/recipe.yaml remakes the shipped model).")
@click.option("--smoke", is_flag=True, help="With --recipe: one epoch on 300 messages, to check the recipe runs.")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML label set: add, rename (from: [old]) or drop labels.")
@click.option("--from", "base", type=click.Path(exists=True, file_okay=False),
              help="Continue from a trained model (e.g. models/default): its encoder and the heads of labels it knows.")
@click.option("--mix", type=click.Path(exists=True), default=None,
              help="Extra labelled data mixed into training (e.g. corpora/train), mapped through the label set.")
@click.option("--method", type=click.Choice(["finetune", "setfit"]), default="finetune", show_default=True)
@click.option("--epochs", type=int, default=6, show_default=True)
@click.option("--max-length", type=int, default=128, show_default=True)
@click.option("--refit-on-dev", is_flag=True, help="After calibrating on dev, retrain on train+dev.")
@click.option("--context", is_flag=True, help="Read each chat message with the previous message of its thread.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-screen", is_flag=True,
              help="Save the folder without its fast screen (e.g. a soup ingredient, whose soup gets its own).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="With --recipe: soup ingredients trained at once, each on its own cores "
                   "(default: one per ingredient, at most one per core; 1: one after another).")
def train(data, output, recipe_file, smoke, labels_file, base, mix, method, epochs, max_length, refit_on_dev, context,
          seed, no_screen, workers):
    """Train a model on labelled DATA (CSV/JSONL or a corpus folder with splits.json).

    Rows with split 'train' train, rows with split 'dev' calibrate scores and tune
    thresholds; without splits, 15% is held out for that (when there are 200+ rows).

    Example: friction train company_labels.csv --labels labels.yaml --from models/default -o models/acme
    """
    from .api import train as train_model

    try:
        train_model(data, output, recipe=recipe_file, smoke=smoke, labels=labels_file, base=base, mix=mix,
                    method=method, epochs=epochs, max_length=max_length, refit_on_dev=refit_on_dev,
                    context=context, seed=seed, screen=not no_screen, workers=workers,
                    log=lambda line: click.echo(line, err=True))
    except (ValueError, OSError, KeyError) as exc:
        fail(str(exc))
    click.echo(f"saved model to {output}", err=True)


@cli.command("build-screen")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--recipe", "recipe_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The recipe whose data the screen learns from (default: the folder's recipe.yaml).")
def build_screen(model_dir, recipe_file):
    """Give a trained model folder its fast screen (the cascade's first stage) and save the folder.

    `friction train` already does this; run it after changing the data or the screen's code.

    Example: friction build-screen models/default
    """
    from .model.cascade import make_cascade_ready

    try:
        tuning = make_cascade_ready(model_dir, recipe_file, log=lambda line: click.echo(line, err=True))
    except (ValueError, OSError) as exc:
        fail(str(exc))
    click.echo(json.dumps(tuning, indent=2))


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-n", "n", type=int, default=200, show_default=True, help="How many messages to suggest.")
@click.option("-o", "--output", required=True, help="CSV (or .jsonl) in the corpus file format, labels left empty.")
@MODEL_OPTION
def suggest(inputs, n, output, model_path):
    """Pick the unlabelled messages most worth labelling next: uncertain and diverse.

    Each suggestion carries the model's current guess in `suggested_labels`;
    annotators fill in `labels` and feed the file to `friction train`.

    Example: friction suggest exports/ -n 200 -o to_label.csv
    """
    import pandas as pd

    from .model.active import suggest_for_labelling
    from .tables import TableWriter

    model = _load_model(model_path)
    chunks, summary = _read_inputs(inputs)
    parts = list(chunks)
    if not parts:
        fail("no messages could be read from INPUTS")
    df = pd.concat(parts, ignore_index=True)
    picked = suggest_for_labelling(model.classifier, df, n)  # uncertainty needs every message's scores
    with TableWriter(output) as out:
        out.write(picked)
    click.echo(f"wrote {len(picked)} suggestions to {output}", err=True)


PERIOD_OPTION = click.option("--period", type=click.Choice(["quarter", "month", "week"]), default="quarter",
                             show_default=True, help="Reporting period.")
MIN_GROUP_OPTION = click.option("--min-group", type=int, default=10, show_default=True,
                                help="Hide any cell built from fewer distinct authors than this.")
KEY_OPTION = click.option("--key-file", default=None, type=click.Path(dir_okay=False),
                          help="The pseudonym key (default: <db>.key beside the store; env FRICTION_KEY_FILE). "
                               "Keep it apart from the store: the two together re-identify people.")
WAIT_OPTION = click.option("--wait", is_flag=True, help="If another friction process has the store, wait for it.")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--roster", type=click.Path(exists=True, dir_okay=False), help="CSV mapping people to teams.")
@click.option("--db", default="friction.duckdb", show_default=True, help="DuckDB results store (created if missing).")
@click.option("--out", "out_dir", default="reports", show_default=True, help="Folder for the report and tables.")
@PERIOD_OPTION
@MODEL_OPTION
@MIN_GROUP_OPTION
@click.option("--allow-small-groups", is_flag=True, help="Permit --min-group below 5 (recorded in the store).")
@click.option("--name-people", is_flag=True, help="Store authors' names instead of pseudonyms (recorded in the store).")
@click.option("--fresh", is_flag=True, help="Re-classify messages the store already holds for this model.")
@click.option("--engine", type=click.Choice(["local", "pool", "dask"]), default="local", show_default=True,
              help="Where classification runs: this process, a pool of --workers processes, or a Dask cluster.")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Worker processes for --engine pool or dask.")
@click.option("--scheduler", default=None, help="Dask scheduler address (default: start a LocalCluster).")
@click.option("--no-cascade", is_flag=True, help="Send every message to the transformer (skip the fast screen).")
@KEY_OPTION
@WAIT_OPTION
@click.option("--max-chars", type=click.IntRange(1_000, 1_000_000), default=50_000, show_default=True,
              help="Cut each message's text after this many characters (each cut is counted).")
@click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
def scan(paths, roster, db, out_dir, period, model_path, min_group, allow_small_groups, name_people, fresh,
         workers, engine, scheduler, no_cascade, key_file, wait, max_chars, as_json):
    """Scan exports and write the friction report: ingest, classify, store, report.

    Messages already in the store (same id, same model) are not counted twice, so
    overlapping exports and a later quarter's scan can go into the same --db.

    Example: friction scan exports/ --roster roster.csv --db friction.duckdb --out reports/
    """
    from .api import scan as run_scan
    from .privacy import PrivacyError

    try:
        result = run_scan(paths, db=db, out=out_dir, roster=roster, period=period, model=model_path,
                          min_group=min_group, allow_small_groups=allow_small_groups, name_people=name_people,
                          fresh=fresh, workers=workers, engine=engine, scheduler=scheduler, cascade=not no_cascade,
                          key_file=key_file, wait=wait, max_chars=max_chars)
    except (PrivacyError, FileNotFoundError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    ing = result["ingest"]
    click.echo(f"read {ing['read']} items, kept {ing['kept']} messages ({result['new_messages']} new to the store), "
               f"skipped {ing['skipped']}", err=True)
    click.echo(f"report: {result['report']['html']}")


@cli.command()
@click.option("--db", default="friction.duckdb", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out_dir", default="reports", show_default=True)
@PERIOD_OPTION
@MIN_GROUP_OPTION
@click.option("--allow-small-groups", is_flag=True,
              help="Permit --min-group below 5 (stated in the report, recorded in the store).")
@KEY_OPTION
@WAIT_OPTION
def report(db, out_dir, period, min_group, allow_small_groups, key_file, wait):
    """Rebuild the report from the results store alone (no exports, no model needed).

    Example: friction report --db friction.duckdb --out reports/ --period month
    """
    from .privacy import PrivacyError, check_min_group
    from .report import build_report
    from .store import Store

    try:
        check_min_group(min_group, allow_small_groups)
    except PrivacyError as exc:
        fail(str(exc))
    with Store(db, key_file=key_file or current_settings().key_file, wait=wait) as store:
        paths = build_report(store, out_dir, period=period, min_group=min_group, override=allow_small_groups)
    click.echo(f"report: {paths['html']}")


@cli.command()
@click.argument("reviews", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", default="friction.duckdb", show_default=True, type=click.Path(exists=True, dir_okay=False))
@KEY_OPTION
@WAIT_OPTION
def review(reviews, db, key_file, wait):
    """Record the reviews exported from a report page (reviews.csv) in the store.

    The next report shows the reviewed precision per label ("of 40 reviewed blame
    items, 31 were right"). The same file trains: friction train reviews.csv
    --from models/default --mix corpora/train -o models/ours

    Example: friction review reviews.csv --db friction.duckdb
    """
    from .review import read_reviews, review_ids
    from .store import Store

    with Store(db, key_file=key_file, wait=wait) as store:
        model_id = store.latest_model()
        try:
            known = store.known_ids(review_ids(reviews), model_id) if model_id else set()
            got = read_reviews(reviews, store.label_ids(), known)
        except (ValueError, OSError) as exc:
            fail(str(exc))
        for line in got.problems:
            click.echo(line, err=True)
        n = store.record_reviews(got.rows, model_id, os.path.basename(reviews))
    skipped = sum(got.skipped.values())
    why = "; ".join(f"{k}: {v}" for k, v in sorted(got.skipped.items()))
    click.echo(f"recorded {n} reviews in {db}" + (f"; skipped {skipped} ({why})" if skipped else ""), err=True)
    if n == 0:
        sys.exit(1)


@cli.command()
@click.option("--db", default="friction.duckdb", show_default=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, help="Parquet file for the stored messages (pseudonymised).")
@KEY_OPTION
@WAIT_OPTION
def export(db, output, key_file, wait):
    """Write the store's messages table (labels, scores, teams, pseudonyms) to Parquet.

    Example: friction export --db friction.duckdb -o results.parquet
    """
    from .store import Store

    with Store(db, key_file=key_file or current_settings().key_file, wait=wait) as store:
        n = store.export(output)
    click.echo(f"wrote {n} messages to {output}", err=True)


if __name__ == "__main__":  # pragma: no cover
    cli()
