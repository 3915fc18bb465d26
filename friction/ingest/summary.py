"""Counting what ingestion read, kept and skipped, so nothing is dropped silently."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class IngestSummary:
    """Running tally of one ingestion run, printed to stderr or emitted as JSON."""

    files: int = 0
    read: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    flagged: Counter = field(default_factory=Counter)  # kept, but changed or incomplete (reason -> rows)
    by_source: Counter = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    echo: bool = True  # print each warning line to stderr as it happens
    max_warnings: int = 1000
    _flag_warned: set = field(default_factory=set, repr=False)

    def skip(self, reason: str, where: str = "", detail: str = "", n: int = 1, warn: bool = True) -> None:
        """Count n skipped items under `reason`; with warn, also emit one line:
        '<where>: <reason> (<detail>)', naming the file and the problem."""
        self.skipped[reason] += n
        if warn:
            line = f"{where}: {reason}" if where else reason
            self.warn(f"{line} ({detail})" if detail else line)

    def flag(self, reason: str, file: str = "", item: object = None, detail: str = "") -> None:
        """Count one kept row that was changed or is incomplete (text cut, timestamp left empty,
        bytes replaced in decoding). Warns once per reason and file, naming the first such item:
        '<file> item <item>: <reason> (<detail>)'."""
        self.flagged[reason] += 1
        if (reason, file) not in self._flag_warned:
            self._flag_warned.add((reason, file))
            where = f"{file} item {item}" if item is not None else file
            line = f"{where}: {reason}" if where else reason
            self.warn(f"{line} ({detail})" if detail else line)

    def warn(self, line: str) -> None:
        if len(self.warnings) < self.max_warnings:
            self.warnings.append(line)
        if self.echo:
            print(f"warning: {line}", file=sys.stderr)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "read": self.read,
            "kept": self.kept,
            "skipped": self.total_skipped,
            "skipped_by_reason": dict(sorted(self.skipped.items())),
            "flagged_by_reason": dict(sorted(self.flagged.items())),
            "kept_by_source": dict(sorted(self.by_source.items())),
            "warnings": self.warnings,
        }

    def text(self) -> str:
        """The human summary printed at the end of a run."""
        parts = [f"{self.files} files, {self.read} items read, {self.kept} messages kept, "
                 f"{self.total_skipped} skipped"]
        if self.skipped:
            parts.append("skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())))
        if self.flagged:
            parts.append("kept but flagged: " + ", ".join(f"{k} {v}" for k, v in sorted(self.flagged.items())))
        if self.by_source:
            parts.append("kept by source: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_source.items())))
        return "\n".join(parts)
