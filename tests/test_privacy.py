"""What a scan stores about a message: evidence redacted with spaCy's NER plus patterns and the
roster, token bags without names (capitalised words dropped, team names and acronyms kept),
pseudonymous authors, and no raw text."""

from __future__ import annotations

import json

import pandas as pd

from friction.ingest import Roster
from friction.privacy import Redactor, pseudonym
from friction.stage import prepare
from friction.teams import TeamFinder
from friction.trends import token_bag

TEAMS = ["Engineering", "Live Ops", "Finance"]


def redactor() -> Redactor:
    return Redactor(names=["Priya Shah"], keep=TEAMS)


def test_evidence_redaction_finds_names_the_roster_does_not_know():
    out = redactor().redact([
        "Marcus Webb signed off the change without telling Finance.",
        "ping @dana.k or mail priya.shah@acme.example, or call +44 20 7946 0958",
        "Priya said the build at https://ci.acme.example/42 is red",
        "the Live Ops sheet changed overnight",
    ])
    assert "Marcus" not in out[0] and "[PERSON]" in out[0] and "Finance" in out[0]
    assert out[1] == "ping @[PERSON] or mail [EMAIL], or call [PHONE]"
    assert out[2] == "[PERSON] said the build at [URL] is red"
    assert out[3] == "the Live Ops sheet changed overnight"


def test_people_skips_texts_without_a_possible_name_and_repeats():
    r = redactor()
    found = r.people(["the sheet changed again", "We told Marcus Webb twice.", "We told Marcus Webb twice.", ""])
    assert found[0] == set() and found[3] == set()
    assert found[1] == found[2] == {"Marcus Webb"}


def test_token_bags_drop_names_but_keep_teams_and_acronyms():
    texts = ["Thanks Tom. Marcus from Kestrel broke the SLA again and Live Ops paid for it.\nBest, Rosa",
             "priya shah says the SLA blocked the release"]
    bags = token_bag(redactor().redact_for_counting(texts))
    words = bags[0].split()
    assert not {"tom", "marcus", "kestrel", "rosa"} & set(words)
    assert {"sla", "live", "ops", "broke", "paid"} <= set(words)
    assert "priya" not in bags[1] and "shah" not in bags[1] and "sla" in bags[1].split()


def test_prepare_stores_redacted_evidence_and_no_text():
    roster = Roster({"priya.shah@acme.example": "Engineering", "x@acme.example": "Finance"},
                    {"Engineering": set(), "Finance": set()})
    labelled = pd.DataFrame({
        "id": ["a", "b"], "author": ["priya.shah@acme.example", "x@acme.example"],
        "author_team": ["Engineering", "Finance"], "recipients": ["", ""],
        "text": ["Marcus Webb pushed the budget onto Finance again. Thanks all.", "lunch at noon?"],
        "labels": ["budget_rivalry", ""],
        "evidence": [json.dumps({"budget_rivalry": ["Marcus Webb pushed the budget onto Finance again."]}), ""],
    })
    secret = b"s" * 16
    rows = prepare(labelled, "default", 1, TeamFinder(roster), redactor(), secret, name_people=False)
    assert "text" not in rows.columns
    ev = json.loads(rows.loc[0, "evidence"])["budget_rivalry"][0]
    assert ev == "[PERSON] pushed the budget onto Finance again."
    assert rows.loc[0, "target_team"] == "Finance" and rows.loc[1, "evidence"] == ""
    assert "marcus" not in rows.loc[0, "tokens"] and "budget" in rows.loc[0, "tokens"]
    assert rows.loc[0, "author"] == pseudonym("priya.shah@acme.example", secret)


# ---------------------------------------------------------------- issue 12: redaction misses

ROSTER_IDS = ["Priya Shah", "priya.shah@acme.example", "Aiko Tanaka", "aiko.tanaka@acme.example", "atanaka",
              "Will Brown", "Finance"]


def roster_redactor() -> Redactor:
    return Redactor(names=ROSTER_IDS, keep=TEAMS)


def test_roster_names_handles_and_address_local_parts_match_whatever_their_case():
    out = roster_redactor().redact([
        "priya said atanaka would sign it off",
        "ask aiko.tanaka or TANAKA, not shah",
        "Will Brown will fix it; will he?",
        "Finance and Live Ops agree",
    ], ner=False)
    assert out[0] == "[PERSON] said [PERSON] would sign it off"
    assert out[1] == "ask [PERSON] or [PERSON], not [PERSON]"
    assert out[2] == "[PERSON] will fix it; will he?"     # the verb survives, the name does not
    assert out[3] == "Finance and Live Ops agree"         # team names are not people


def test_obfuscated_emails_short_phones_and_street_addresses_are_redacted():
    out = redactor().redact([
        "mail jane.doe [at] example.com or jdoe (at) example (dot) org or jane at example dot com",
        "call 555-0123, 555 0199 or (555) 123-4567; office 020 7946 0958; Tokyo 03-1234-5678; mobile 5550123",
        "ship it to 221B Baker Street or 1600 Pennsylvania Avenue NW, or Hauptstraße 5, or PO Box 42",
    ], ner=False)
    assert out[0] == "mail [EMAIL] or [EMAIL] or [EMAIL]"
    assert out[1] == "call [PHONE], [PHONE] or [PHONE]; office [PHONE]; Tokyo [PHONE]; mobile [PHONE]"
    assert out[2] == "ship it to [ADDRESS] or [ADDRESS] NW, or [ADDRESS], or [ADDRESS]"


def test_dates_amounts_and_versions_are_not_taken_for_phone_numbers():
    texts = ["we met on 2025-01-06 and 06/01/2025 about the 2024-2025 plan",
             "it cost 1,250,000 in 3 more days; see section 2.1, version 1.2.3, 10:00-11:00"]
    assert redactor().redact(texts, ner=False) == texts


def test_no_roster_name_reaches_a_word_list():
    r = roster_redactor()
    bags = token_bag(r.redact_for_counting(["priya blamed tanaka for the missed launch, atanaka agreed"]),
                     drop=r.words)
    assert set(bags[0].split()) == {"blamed", "missed", "launch", "agreed"}
    # a name the redaction cannot see (glued to a tag) is still kept out by the drop list
    assert token_bag(["[PERSON]priya blamed"], drop=r.words) == ["blamed"]


# ---------------------------------------------------------------- issue 12: hashed ids, the key


def test_prepare_hashes_message_thread_and_reply_ids_and_keeps_no_subject(tmp_path):
    from friction.privacy import hashed_id
    from friction.store import Store

    roster = Roster({"priya.shah@acme.example": "Engineering"}, {"Engineering": set()})
    labelled = pd.DataFrame({
        "id": ["<CAF1.priya.shah@acme.example>", "vtt:priya-1to1-health:3"],
        "author": ["priya.shah@acme.example", "x@acme.example"], "author_team": ["Engineering", "unknown"],
        "recipients": ["", ""], "thread_id": ["subject:priya's sick leave", "subject:priya's sick leave"],
        "reply_to": ["", "<CAF1.priya.shah@acme.example>"], "subject": ["Priya's sick leave", "Re: it"],
        "text": ["a", "b"], "labels": ["", ""], "evidence": ["", ""],
    })
    secret = b"k" * 32
    rows = prepare(labelled, "default", 1, TeamFinder(roster), redactor(), secret, name_people=False)
    assert list(rows["id"]) == [hashed_id("<CAF1.priya.shah@acme.example>", secret),
                                hashed_id("vtt:priya-1to1-health:3", secret)]
    assert rows.loc[1, "reply_to"] == rows.loc[0, "id"]                 # the reply still finds its parent
    assert rows.loc[0, "thread_id"] == rows.loc[1, "thread_id"] != ""  # one thread, hashed alike
    with Store(tmp_path / "f.duckdb") as store:
        store.begin_scan(["x"], "default", "", "quarter", 10, False, False)
        store.upsert(rows, [])
        store.export(str(tmp_path / "out.parquet"))
    stored = pd.read_parquet(tmp_path / "out.parquet")
    blob = stored.astype(str).to_csv()
    assert "priya" not in blob.lower() and "subject" not in stored.columns and "sick" not in blob
    assert prepare(labelled, "default", 1, TeamFinder(roster), redactor(), secret, False)["id"].equals(rows["id"])


def test_the_key_lives_in_its_own_private_file_not_in_the_store(tmp_path):
    import stat

    from friction.store import Store

    db = tmp_path / "f.duckdb"
    with Store(db) as store:
        key = store.secret()
        assert store.con.execute("SELECT count(*) FROM meta WHERE key = 'pseudonym_secret'").fetchone()[0] == 0
    keyfile = tmp_path / "f.duckdb.key"
    assert bytes.fromhex(keyfile.read_text().strip()) == key
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert key.hex().encode() not in db.read_bytes() and key not in db.read_bytes()
    with Store(db) as store:                                          # the same key next time
        assert store.secret() == key
    other = tmp_path / "elsewhere" / "friction.key"
    with Store(tmp_path / "g.duckdb", key_file=str(other)) as store:
        key2 = store.secret()
    assert bytes.fromhex(other.read_text().strip()) == key2
    assert not (tmp_path / "g.duckdb.key").exists()


def test_a_store_that_lost_its_key_is_refused_rather_than_re_keyed(tmp_path):
    import pytest

    from friction.store import Store, StoreError

    db = tmp_path / "f.duckdb"
    with Store(db) as store:
        store.begin_scan(["x"], "m", "", "quarter", 10, False, False)
        store.upsert(pd.DataFrame({"id": [hashed("a", store.secret())], "model_id": ["m"]}), [])
    (tmp_path / "f.duckdb.key").unlink()
    with Store(db) as store, pytest.raises(StoreError, match="pseudonym key .* is missing"):
        store.secret()


def hashed(value: str, secret: bytes) -> str:
    from friction.privacy import hashed_id

    return hashed_id(value, secret)


def test_an_old_store_with_its_key_inside_is_moved_out_and_its_raw_ids_hashed(tmp_path, monkeypatch):
    import duckdb
    from click.testing import CliRunner

    from friction.cli import cli
    from friction.store import Store

    db = tmp_path / "old.duckdb"
    with Store(db) as store:  # the tables as they are; then make it look like an older store
        store.begin_scan(["x"], "m", "", "quarter", 10, False, False)
    (tmp_path / "old.duckdb.key").unlink(missing_ok=True)
    legacy = bytes(range(32))
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM meta")
    con.execute("INSERT INTO meta VALUES ('pseudonym_secret', ?)", [legacy.hex()])
    con.execute("INSERT INTO messages (id, model_id, thread_id, reply_to) VALUES "
                "('<a1.priya@acme.example>', 'm', 'subject:priya leave', ''), "
                "('<a2@acme.example>', 'm', 'subject:priya leave', '<a1.priya@acme.example>')")
    con.close()
    keyfile = tmp_path / "keys" / "friction.key"
    monkeypatch.setenv("FRICTION_KEY_FILE", str(keyfile))
    r = CliRunner().invoke(cli, ["export", "--db", str(db), "-o", str(tmp_path / "x.parquet")])
    assert r.exit_code == 0, r.output
    assert "moved the pseudonym key out of" in r.stderr
    assert bytes.fromhex(keyfile.read_text().strip()) == legacy
    out = pd.read_parquet(tmp_path / "x.parquet").set_index("id")
    assert set(out.index) == {hashed("<a1.priya@acme.example>", legacy), hashed("<a2@acme.example>", legacy)}
    assert out.loc[hashed("<a2@acme.example>", legacy), "reply_to"] == hashed("<a1.priya@acme.example>", legacy)
    assert set(out["thread_id"]) == {hashed("subject:priya leave", legacy)}
    data = db.read_bytes()                                              # not even in the file's free blocks
    assert legacy.hex().encode() not in data and b"priya@acme" not in data and b"subject:" not in data
    with Store(db, key_file=str(keyfile)) as store:
        assert store.con.execute("SELECT count(*) FROM meta WHERE key = 'pseudonym_secret'").fetchone()[0] == 0
        assert store.secret() == legacy                                 # pseudonyms stay what they were


def test_authors_as_exported_give_their_names_and_local_parts():
    from friction.privacy import name_words

    phrases, words = name_words(['Priya Shah <priya.shah@acme.example>', '"Tanaka, Aiko"', "@dkim", "Finance"],
                                keep=TEAMS)
    assert phrases == {"priya shah", "priya.shah", "tanaka aiko", "dkim"}
    assert words == {"priya", "shah", "tanaka", "aiko", "dkim"}
