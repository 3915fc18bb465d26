"""Sentence splitting for evidence: spaCy's English tokenizer with the rule-based
`sentencizer`. Compared with en_core_web_sm's statistical `senter` on 1,500 corpus messages it
split 96% of them identically, split run-on lines the senter missed, and ran 4.3x faster, which
matters when every flagged message of a million is split."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def sentence_pipeline():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


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
