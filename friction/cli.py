"""The `friction` command line: thin shells over the library."""

from __future__ import annotations

import json
import sys

import click

from . import __version__


def fail(message: str) -> None:
    """Exit non-zero with one clear line."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="friction")
def cli() -> None:
    """Find friction between teams in a company's email, chat and meeting notes.

    Example: friction ingest exports/ -o messages.parquet
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("-o", "--output", required=True, help="Output table: .parquet, .csv, .jsonl, or - for JSONL on stdout.")
@click.option("--format", "fmt", default=None,
              type=click.Choice(["mbox", "eml", "msg", "pst", "slack", "teams", "vtt", "srt", "notes",
                                 "csv", "tsv", "jsonl", "parquet"]),
              help="Read every file as this format instead of detecting it.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False),
              help="CSV mapping email/handle/name to team; others get team 'unknown'.")
@click.option("--map", "mapping", default=None, metavar="OURS=THEIRS,...",
              help="Column names of input tables, e.g. text=body,author=sender.")
@click.option("--json", "as_json", is_flag=True, help="Print the ingestion summary as JSON on stderr.")
def ingest(paths, output, fmt, roster, mapping, as_json):
    """Read exports (files, folders, zips) into one clean message table.

    Formats: mbox, .eml, Maildir, Outlook .msg, PST, Slack export, Teams Graph
    JSON, WebVTT/SRT transcripts, meeting notes (.md/.txt/.docx), CSV/JSONL/Parquet.

    Example: friction ingest mail.mbox slack-export.zip notes/ --roster roster.csv -o messages.parquet
    """
    from .ingest import IngestSummary, Roster, parse_mapping, read_messages
    from .tables import TableWriter, table_format

    try:
        table_format(output)
        col_map = parse_mapping(mapping)
        team_roster = Roster.load(roster) if roster else None
    except (ValueError, OSError) as exc:
        fail(str(exc))
    summary = IngestSummary()
    with TableWriter(output) as out:
        for chunk in read_messages(paths, fmt=fmt, roster=team_roster, mapping=col_map, summary=summary):
            out.write(chunk)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2), err=True)
    else:
        click.echo(summary.text(), err=True)
        if output != "-":
            click.echo(f"wrote {summary.kept} messages to {output}", err=True)
    if summary.kept == 0 and summary.read == 0:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    cli()
