"""What a scan stores about a message: evidence redacted with spaCy's NER plus patterns and the
roster, token bags without names (capitalised words dropped, team names and acronyms kept),
pseudonymous authors, and no raw text."""

from __future__ import annotations

import json

import pandas as pd

from friction.ingest import Roster
from friction.privacy import Redactor, pseudonym
from friction.scan import prepare
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
