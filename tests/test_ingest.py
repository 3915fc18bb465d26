"""Ingestion: each format's fixture produces the rows we expect, bad input is counted."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from friction.cli import cli
from friction.ingest import COLUMNS, IngestSummary, Roster, read_all
from friction.tables import read_table

ING = "tests/fixtures/ingest"


def ingest(*paths, **kw):
    summary = IngestSummary(echo=False)
    df = read_all([f"{ING}/{p}" for p in paths], summary=summary, **kw)
    return df.set_index("id", drop=False), summary


def test_mbox_cleans_decodes_threads_and_dedupes():
    df, s = ingest("mail/quarter.mbox")
    assert list(df.columns) == COLUMNS
    assert list(df.index) == ["<m1-launch@northwind.example>", "<m2-reply@northwind.example>",
                              "<m3-html@northwind.example>", "<m4-multi@northwind.example>"]
    first = df.loc["<m1-launch@northwind.example>"]
    assert first.author == "priya.shah@northwind.example"
    assert first.timestamp == pd.Timestamp("2024-03-04 08:12:00", tz="UTC")
    assert "tom.becker@northwind.example" in first.recipients and "ines.ortega@northwind.example" in first.recipients
    assert "Nobody on our side was told" in first.text
    assert "CONFIDENTIALITY" not in first.text and "+44" not in first.text  # signature, disclaimer gone
    reply = df.loc["<m2-reply@northwind.example>"]
    assert reply.subject == "Re: Webinar list went out with the old pricing – München"  # RFC 2047, latin-1
    assert "Jürgen" in reply.text                                                       # quoted-printable
    assert "last year's pricing" not in reply.text                                      # quote stripped
    assert reply.thread_id == reply.reply_to == "<m1-launch@northwind.example>"
    html = df.loc["<m3-html@northwind.example>"]
    assert html.text.startswith("Funny how the events line survived the cut & my two SDR reqs didn't.")
    assert "color:red" not in html.text and "Can’t wait" in html.text
    multi = df.loc["<m4-multi@northwind.example>"]
    assert multi.text == "Plan looks good to me. Budget approved for the two SDR hires."  # Outlook quote gone
    assert multi.thread_id == "subject:q2 plan"
    assert s.skipped["duplicate"] == 1 and s.kept == 4


def test_eml_and_maildir():
    df, _ = ingest("mail/one.eml", "mail/Maildir")
    assert df.loc["<eml-1@northwind.example>", "source"] == "eml"
    assert df.loc["<eml-1@northwind.example>", "text"].endswith("So which number is CS judged on?")
    assert df.loc["<eml-1@northwind.example>", "timestamp"] == pd.Timestamp("2024-03-07 21:30", tz="UTC")
    assert set(df.loc[df.source == "maildir", "id"]) == {"<maildir-1@northwind.example>", "<maildir-2@northwind.example>"}
    assert df.loc["<maildir-2@northwind.example>", "thread_id"] == "<maildir-1@northwind.example>"


def test_truncated_mbox_keeps_the_good_message():
    df, s = ingest("mail/truncated.mbox")
    assert list(df.text) == ["This one is fine."]
    assert s.skipped["truncated message (headers never end)"] == 1
    assert any("truncated.mbox message 2" in w for w in s.warnings)


def test_slack_export_folder_and_zip(tmp_path):
    df, s = ingest("slack")
    assert list(df.id) == ["slack:general:1709543000.000200", "slack:general:1709543100.000300",
                           "slack:general:1709543200.000400", "slack:pricing:1709629200.000100"]
    first = df.iloc[0]
    assert first.text == "@Tom B third time asking: who signs off the pricing page? :eyes:"
    assert first.author == "Priya" and first.recipients == "Tom B"
    assert df.iloc[1].text == "not us & not product, apparently :upside_down_face:"
    assert df.iloc[2].text == "I'll take it to #pricing on Monday"
    assert set(df.iloc[:3].thread_id) == {"slack:general:1709543000.000200"}
    assert df.iloc[1].reply_to == "slack:general:1709543000.000200"
    assert df.iloc[0].timestamp == pd.Timestamp(1709543000.0002, unit="s", tz="UTC").floor("us")
    assert s.skipped["slack system message (channel_join)"] == 1
    assert s.skipped["slack system message (bot_message)"] == 1
    # The same export as a zip (with a top-level folder, as Slack ships it) gives the same rows.
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as zf:
        slack = Path(ING) / "slack"
        for f in sorted(slack.rglob("*.json")):
            zf.write(f, "Northwind Slack export/" + f.relative_to(slack).as_posix())
    zdf = read_all([str(z)], summary=IngestSummary(echo=False))
    assert list(zdf.id) == list(df.id) and list(zdf.text) == list(df.text)
    # And both together are one set of messages: the chat copy is deduplicated.
    summ = IngestSummary(echo=False)
    both = read_all([f"{ING}/slack", str(z)], summary=summ)
    assert len(both) == 4 and summ.skipped["duplicate"] == 4


def test_teams_graph_json():
    df, s = ingest("teams")
    assert list(df.id) == ["teams:sales-marketing-chat:1709722800000", "teams:sales-marketing-chat:1709723000000"]
    assert " ".join(df.iloc[0].text.split()) == "@Ines Ortega the co-op money moved to digital & nobody told the field team. Again."
    assert df.iloc[0].recipients == "Ines Ortega" and df.iloc[0].author == "Ravi Menon"
    assert df.iloc[1].thread_id == df.iloc[0].id
    assert s.skipped["teams system message (systemEventMessage)"] == 1 and s.skipped["teams deleted message"] == 1


def test_transcripts_merge_turns_and_date_them():
    df, _ = ingest("meetings")
    vtt = df[df.source == "vtt"]
    assert list(vtt.author) == ["Priya Shah", "Ines Ortega", "Priya Shah"]
    assert vtt.iloc[0].text == ("So, um, the March number. We're thirty percent under. "
                                "And honestly if the leads were any good we wouldn't be.")
    assert vtt.iloc[1].timestamp == pd.Timestamp("2024-03-05 14:00:09.200", tz="UTC")
    assert re.fullmatch(r"vtt:[0-9a-f]{16}:1", vtt.iloc[0].id)      # content hash + turn, no file name
    srt = df[df.source == "srt"]
    assert list(srt.author) == ["Tom Becker", "Dana Kim"]
    assert srt.iloc[0].text == "Morning. Quick one from me. Budget's approved, thanks everyone for turning it round."
    assert srt.iloc[1].timestamp == pd.Timestamp("2024-03-06 00:00:06.200", tz="UTC")  # date from file name


def test_notes_markdown_and_docx():
    df, _ = ingest("notes")
    md = df[df.origin_file.str.contains("2024-03-07")]
    assert list(md.text) == [
        "Q3 pipeline miss attributed to late campaign launch (mktg); PS to follow up",
        "Events budget: unchanged. SDR reqs still frozen, to be revisited at the April review",
        "Agreed: pricing changes get posted in #pricing before launch",
        "Next sync in two weeks.",
    ]
    assert (md.timestamp == pd.Timestamp("2024-03-07", tz="UTC")).all() and (md.channel == "meeting").all()
    docx = df[df.origin_file.str.contains("cs-product-retro")]
    assert docx.iloc[0].text.startswith("Renewal tickets waited four days")
    assert docx.iloc[1].text.startswith("Escalation path agreed") and len(docx) == 3
    assert (docx.timestamp == pd.Timestamp("2024-03-12", tz="UTC")).all()


def test_tables_with_column_map_and_roster():
    roster = Roster.load(f"{ING}/roster.csv")
    df, s = ingest("tables/export.csv", roster=roster,
                   mapping={"body": "text", "sender": "author", "msg_id": "id", "sent_at": "timestamp", "medium": "channel"})
    assert list(df.id) == ["c-1", "c-2"] and s.skipped["no new text (empty after cleaning)"] == 1
    assert list(df.author_team) == ["Sales", "Marketing"]
    j, _ = ingest("tables/export.jsonl", roster=roster)
    assert list(j.author_team) == ["Customer Success", "unknown"]
    assert j.loc["j-1", "timestamp"] == pd.Timestamp("2024-03-09 10:00", tz="UTC")


def test_roster_matches_handles_names_and_emails():
    df, _ = ingest("slack", "teams", "meetings", roster=Roster.load(f"{ING}/roster.csv"))
    teams = dict(zip(df.author, df.author_team))
    assert teams["Priya"] == "Sales"          # Slack display name, matched through users.json email
    assert teams["Ines Ortega"] == "Marketing"
    assert teams["Ravi Menon"] == "Sales" and teams["Dana Kim"] == "Customer Success"


def test_bad_input_is_counted_and_the_batch_goes_on(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("../escape.txt", "Date: 2024-01-01\n- should never be read")
        zf.writestr("bomb.txt", "0" * 3_000_000)
        zf.writestr("ok/2024-01-02 notes.md", "- the one good item")
    df, s = ingest("bad", "mail/one.eml")
    df2 = read_all([str(z)], summary=(sz := IngestSummary(echo=False)))
    assert list(df2.text) == ["the one good item"]
    assert sz.skipped["unsafe path in zip"] == 1 and sz.skipped["zip entry compression ratio too high"] == 1
    assert not (tmp_path.parent / "escape.txt").exists()
    assert s.skipped["empty file"] == 1 and s.skipped["invalid JSON"] == 1 and s.skipped["unknown format"] == 1
    assert any(w.startswith(f"{ING}/bad/2024-03-10.json: invalid JSON") for w in s.warnings)
    # non-UTF-8 bytes are replaced, never fatal
    assert "order went to the wrong floor" in " ".join(df.text)


def test_pst_without_the_extra_says_how_to_install(tmp_path):
    try:
        import pypff  # noqa: F401
        pytest.skip("libpff-python is installed here")
    except ImportError:
        pass
    f = tmp_path / "archive.pst"
    f.write_bytes(b"!BDN" + b"\0" * 600)
    df = read_all([str(f)], summary=(s := IngestSummary(echo=False)))
    assert df.empty and s.skipped["PST reader not installed"] == 1
    assert "pip install 'friction[pst]'" in s.warnings[0]


@pytest.mark.parametrize("ext", ["parquet", "csv", "jsonl"])
def test_cli_ingest_writes_every_format(tmp_path, ext):
    out = tmp_path / f"messages.{ext}"
    r = CliRunner().invoke(cli, ["ingest", f"{ING}/mail", f"{ING}/slack", "--roster", f"{ING}/roster.csv",
                                 "-o", str(out)])
    assert r.exit_code == 0, r.output
    back = read_table(str(out))
    assert list(back.columns) == COLUMNS and len(back) == 13  # 9 mail (mbox, eml, Maildir, msg) + 4 Slack
    assert "Priya" in set(back.author) and "Sales" in set(back.author_team)
    assert "7 skipped" in r.stderr or "skipped" in r.stderr
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # nothing else written


def test_cli_json_summary_and_stdout(tmp_path):
    r = CliRunner().invoke(cli, ["ingest", f"{ING}/teams", "-o", "-", "--json"])
    assert r.exit_code == 0
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert [l["id"] for l in lines] == ["teams:sales-marketing-chat:1709722800000", "teams:sales-marketing-chat:1709723000000"]
    summary = json.loads(r.stderr)
    assert summary["kept"] == 2 and summary["skipped_by_reason"]["teams deleted message"] == 1


def test_cli_fails_only_when_nothing_readable(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\x00\x01\x02garbage")
    r = CliRunner().invoke(cli, ["ingest", str(tmp_path / "x.bin"), "-o", str(tmp_path / "o.csv")])
    assert r.exit_code == 1 and "unknown format" in r.stderr
    r = CliRunner().invoke(cli, ["ingest", "--help"])
    assert "Example:" in r.output


def test_real_enron_mail_loses_nothing_and_keeps_only_new_text(external):
    """Real public mail (../shared/external, evaluation only): every file is either kept or
    counted as skipped with a reason, and no quote or forward marker survives in the new text."""
    import re

    folder = external / "enron_berkeley_categories" / "enron_with_categories"
    files = sorted(folder.glob("*/*.txt"))
    assert len(files) > 1000
    s = IngestSummary(echo=False)
    df = read_all([str(f) for f in files], summary=s)   # detected as RFC-822 from their content
    assert s.read == len(files)
    assert s.kept + s.total_skipped == len(files)
    assert set(s.skipped) <= {"no new text (empty after cleaning)", "duplicate"}   # pure forwards, copies
    assert s.kept > 0.8 * len(files)
    markers = re.compile(r"-----\s*Original Message|-{5,} Forwarded by|^\s*>|^From: .*\n\s*Sent:", re.M | re.I)
    leftover = df["text"].map(lambda t: bool(markers.search(t))).mean()
    assert leftover < 0.02
    assert df["timestamp"].notna().mean() > 0.99 and df["id"].str.startswith("<").all()
