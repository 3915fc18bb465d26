"""Roster: who is in which team. Anyone not on it is in team 'unknown'."""

from __future__ import annotations

from pathlib import Path

from ..tables import read_table

UNKNOWN = "unknown"
ID_COLUMNS = ("email", "handle", "name", "aliases")


class Roster:
    """Maps email addresses, chat handles and display names (case-insensitive) to a team.

    The roster file is a CSV (or any table we read) with a `team` column and at least one of
    `email`, `handle`, `name`; `aliases` may hold extra names of the person separated by ';', and
    `team_aliases` other names of the team ("mktg;marketing team"), on any row of that team.
    """

    def __init__(self, people: dict[str, str] | None = None, team_aliases: dict[str, set[str]] | None = None,
                 names: list[str] | None = None):
        self.people = {k.strip().lower(): v for k, v in (people or {}).items() if k and k.strip()}
        self.team_aliases = {t: set(a) for t, a in (team_aliases or {}).items()}
        self.names = list(names or [])  # display names as written, for redaction

    @classmethod
    def load(cls, path: str | Path) -> "Roster":
        df = read_table(str(path))
        cols = {c.lower().strip(): c for c in df.columns}
        if "team" not in cols or not any(c in cols for c in ID_COLUMNS):
            raise ValueError(f"{path}: a roster needs a 'team' column and one of {', '.join(ID_COLUMNS)}")
        people: dict[str, str] = {}
        aliases: dict[str, set[str]] = {}
        names: list[str] = []
        for rec in df.to_dict("records"):
            team = str(rec[cols["team"]] or "").strip()
            if not team:
                continue
            aliases.setdefault(team, set())
            if "team_aliases" in cols:
                aliases[team].update(a.strip() for a in str(rec[cols["team_aliases"]] or "").split(";") if a.strip())
            if "name" in cols and str(rec[cols["name"]] or "").strip():
                names.append(str(rec[cols["name"]]).strip())
            for c in ID_COLUMNS:
                if c in cols:
                    for key in str(rec[cols[c]] or "").split(";"):
                        if key.strip():
                            people[key] = team
        return cls(people, aliases, names)

    @property
    def teams(self) -> list[str]:
        return sorted(set(self.people.values()) | set(self.team_aliases))

    def team_of(self, *keys: str) -> str:
        for k in keys:
            if k:
                t = self.people.get(str(k).strip().lower())
                if t:
                    return t
        return UNKNOWN

    def __len__(self) -> int:
        return len(self.people)
