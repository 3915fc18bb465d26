"""Which team a message is about: team names and aliases mentioned in the text (spaCy
PhraseMatcher over the roster's teams), else the teams of its recipients."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from .ingest.roster import UNKNOWN, Roster


class TeamFinder:
    def __init__(self, roster: Roster):
        import spacy
        from spacy.matcher import PhraseMatcher

        self.roster = roster
        self.nlp = spacy.blank("en")
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for team in roster.teams:
            phrases = {team} | roster.team_aliases.get(team, set())
            self.matcher.add(team, [self.nlp.make_doc(p) for p in phrases if p])

    def find(self, texts: Sequence[str], author_teams: Sequence[str], recipients: Sequence[str]) -> list[str]:
        """The target team of each message, or '' when neither text nor recipients tell."""
        out = []
        for doc, author_team, rcpt in zip(self.nlp.pipe(list(texts), batch_size=512), author_teams, recipients):
            found = ""
            for match_id, _start, _end in sorted(self.matcher(doc), key=lambda m: m[1]):
                team = self.nlp.vocab.strings[match_id]
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
