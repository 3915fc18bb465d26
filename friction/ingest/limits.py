"""Resource caps for one ingestion run, passed explicitly to the readers that need them.

They keep one hostile or huge input from exhausting memory or time: a message's text is cut
at `max_chars` (the transformer reads long texts in windows and spaCy refuses texts over
1,000,000 characters, so an uncut 2 MB message made a scan fail at 9 GB), and an archive stops
being read once its entries would inflate past `max_archive_bytes` or number more than
`max_archive_entries`. Every cut and every refused entry is counted in the summary.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Highest text cap we accept: spaCy's default `nlp.max_length` (E088 above it).
MAX_CHARS_CEILING = 1_000_000


@dataclass(frozen=True)
class Limits:
    """Caps per message and per archive; defaults suit a company's exports."""

    max_chars: int = 50_000                      # text kept per message (about 8,000 words)
    max_archive_bytes: int = 16 * 1024**3        # total inflated bytes read from one zip
    max_archive_entries: int = 200_000           # entries read from one zip
    max_archive_ratio: int = 200                 # whole-archive inflation ratio ...
    ratio_floor_bytes: int = 256 * 1024**2       # ... refused once the inflated total passes this

    def __post_init__(self) -> None:
        if not 1_000 <= self.max_chars <= MAX_CHARS_CEILING:
            raise ValueError(f"max_chars must be between 1,000 and {MAX_CHARS_CEILING:,} (got {self.max_chars})")
        if self.max_archive_bytes < 1 or self.max_archive_entries < 1:
            raise ValueError("archive caps must be positive")
