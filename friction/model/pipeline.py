"""The inference pipeline a model folder owns: screen -> classifier -> evidence.

In the manner of a spaCy pipeline, each component is called on a chunk of messages (a `Batch`
built from a DataFrame) and has its own `to_disk` / `from_disk`; the folder's config.json names the
components in order under "pipeline". `load_model` returns this pipeline, and `friction classify`,
`friction evaluate`, `friction scan` and the benchmarks all run it, so a printed figure is the
figure of what users run. `without("screen")` is the same pipeline without its screen
(`--no-cascade`). `to_disk` writes the whole folder: classifier, screen and inference settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import pandas as pd

from ..timings import Timings, clock
from .classifier import FrictionClassifier
from .screen import FrictionScreen


@dataclass
class Batch:
    """What the components read and fill for one chunk of messages."""

    texts: list[str]
    classifier: FrictionClassifier
    contexts: list[str] | None = None
    with_evidence: bool = True
    timings: Timings | None = None
    read: np.ndarray | None = None        # which messages the transformer reads (the screen's say)
    proba: np.ndarray | None = None       # calibrated scores (n, labels); 0 where not read
    flags: np.ndarray | None = None       # decisions (n, labels)
    tokens: list | None = None            # per message: token contributions, for evidence
    evidence: list[dict] = field(default_factory=list)


class Component(Protocol):
    """A pipeline step: fills part of a Batch; saves and loads its own files."""

    name: str

    def __call__(self, batch: Batch) -> Batch: ...

    def to_disk(self, folder: Path) -> dict: ...


class ScreenComponent:
    """The cheap first stage: marks which messages the transformer must read."""

    name = "screen"

    def __init__(self, screen: FrictionScreen, path: str = "screen"):
        self.screen, self.path = screen, path

    def __call__(self, batch: Batch) -> Batch:
        with clock(batch.timings, "classify: screen"):
            batch.read = self.screen.passes(batch.texts)
        return batch

    def to_disk(self, folder: Path) -> dict:
        self.screen.save(Path(folder) / self.path)
        return {"name": self.name, "path": self.path}

    @classmethod
    def from_disk(cls, folder: Path, entry: dict) -> "ScreenComponent":
        screen = FrictionScreen.load(Path(folder) / entry.get("path", "screen"))
        if screen is None:
            raise FileNotFoundError(f"{folder}: config.json names a screen in {entry.get('path', 'screen')}/, "
                                    "which is missing")
        return cls(screen, entry.get("path", "screen"))


class ClassifierComponent:
    """The transformer: scores and decisions for the messages the screen passed (all without one)."""

    name = "classifier"

    def __init__(self, model: FrictionClassifier):
        self.model = model

    def __call__(self, batch: Batch) -> Batch:
        m, n = self.model, len(batch.texts)
        read = batch.read if batch.read is not None else np.ones(n, dtype=bool)
        proba = np.zeros((n, len(m.label_ids)), dtype=np.float32)
        idx = np.flatnonzero(read)
        if len(idx):
            kept: list | None = [] if batch.with_evidence else None
            ctx = [batch.contexts[i] for i in idx] if batch.contexts is not None else None
            with clock(batch.timings, "classify: transformer"):
                proba[idx] = m.predict_proba([batch.texts[i] for i in idx], contexts=ctx, tokens=kept)
            if kept:  # empty when the model cannot give them (context or sentence pooling)
                batch.tokens = [None] * n
                for i, t in zip(idx, kept):
                    batch.tokens[i] = t
        if batch.timings is not None:
            batch.timings.count("messages read by the transformer", len(idx))
            batch.timings.count("messages", n)
        batch.read, batch.proba = read, proba
        batch.flags = (proba >= m.thresholds_) & read[:, None]
        return batch

    def to_disk(self, folder: Path) -> dict:
        return {"name": self.name, "path": "."}  # the folder itself (config.json, heads, encoder/)


class EvidenceComponent:
    """The sentence(s) behind each flag, for flagged messages only (from the transformer's own
    token contributions, so no second pass)."""

    name = "evidence"

    def __init__(self, max_sentences: int = 2):
        self.max_sentences = max_sentences

    def __call__(self, batch: Batch) -> Batch:
        if not batch.with_evidence:
            batch.evidence = [{} for _ in batch.texts]
            return batch
        with clock(batch.timings, "classify: evidence"):
            batch.evidence = batch.classifier.evidence(batch.texts, batch.flags, max_sentences=self.max_sentences,
                                                       tokens=batch.tokens)
        return batch

    def to_disk(self, folder: Path) -> dict:
        return {"name": self.name, "max_sentences": self.max_sentences}

    @classmethod
    def from_disk(cls, folder: Path, entry: dict) -> "EvidenceComponent":
        return cls(int(entry.get("max_sentences", 2)))


class FrictionPipeline:
    """screen (optional) -> classifier -> evidence, run on DataFrame chunks."""

    def __init__(self, components: Sequence[Component]):
        self.components = list(components)
        names = self.names
        if names.count("classifier") != 1:
            raise ValueError(f"a pipeline needs exactly one classifier, got {names}")

    # ------------------------------------------------------------------ parts
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]

    def get(self, name: str):
        return next((c for c in self.components if c.name == name), None)

    def without(self, *names: str) -> "FrictionPipeline":
        """The same pipeline minus the named components (e.g. `without("screen")`)."""
        return FrictionPipeline([c for c in self.components if c.name not in names])

    @property
    def classifier(self) -> FrictionClassifier:
        return self.get("classifier").model

    @property
    def screen(self) -> FrictionScreen | None:
        part = self.get("screen")
        return part.screen if part is not None else None

    @property
    def labels(self):
        return self.classifier.labels

    @property
    def label_ids(self) -> list[str]:
        return self.classifier.label_ids

    @property
    def thresholds_(self) -> np.ndarray:
        return self.classifier.thresholds_

    @property
    def model_id(self) -> str:
        return self.classifier.model_id

    @property
    def runtime(self) -> str:
        """What the transformer runs on here (chosen per CPU at load time), e.g. "torch-bf16"."""
        return self.classifier.runtime

    # ------------------------------------------------------------------ running
    def run(self, texts: Sequence[str], contexts: Sequence[str] | None = None, with_evidence: bool = True,
            timings: Timings | None = None) -> Batch:
        batch = Batch(texts=[t if isinstance(t, str) else "" for t in texts], classifier=self.classifier,
                      contexts=list(contexts) if contexts is not None else None,
                      with_evidence=with_evidence and self.get("evidence") is not None, timings=timings)
        for component in self.components:
            batch = component(batch)
        if not batch.evidence:
            batch.evidence = [{} for _ in batch.texts]
        return batch

    def __call__(self, df: pd.DataFrame, with_evidence: bool = True, contexts: list[str] | None = None,
                 timings: Timings | None = None) -> pd.DataFrame:
        """The chunk plus score_<label>, flag_<label>, labels, evidence (JSON), `stage` ('screen'
        when the screen ruled friction out, 'model' when the transformer read the message) and
        model_id."""
        from ..corpus import previous_in_thread

        if self.classifier.use_context and contexts is None and "thread_id" in df.columns:
            contexts = previous_in_thread(df)
        batch = self.run(df["text"].fillna("").astype(str).tolist(), contexts, with_evidence, timings)
        out = df.copy()
        for j, lid in enumerate(self.label_ids):
            out[f"score_{lid}"] = batch.proba[:, j].astype(np.float32)
            out[f"flag_{lid}"] = batch.flags[:, j]
        out["labels"] = [";".join(lid for lid, f in zip(self.label_ids, row) if f) for row in batch.flags]
        out["evidence"] = [json.dumps(e, ensure_ascii=False) if e else "" for e in batch.evidence]
        out["stage"] = np.where(batch.read, "model", "screen")
        out["model_id"] = self.model_id
        return out

    def predict_proba(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated scores as the whole pipeline gives them (0 where the screen ruled friction out)."""
        return self.run(texts, contexts, with_evidence=False).proba

    def predict(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> np.ndarray:
        return self.run(texts, contexts, with_evidence=False).flags.astype(np.int8)

    # ------------------------------------------------------------------ persistence
    def to_disk(self, path: str | Path, metrics: dict | None = None, extra: dict | None = None) -> None:
        """The whole folder: the classifier's files, every component's own, and config.json
        naming the components in order (with the inference settings)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        entries = [c.to_disk(path) for c in self.components if c.name != "classifier"]
        entries.insert(self.names.index("classifier"), self.get("classifier").to_disk(path))
        self.classifier.save(path, metrics=metrics, extra={**(extra or {}), "pipeline": entries})

    save = to_disk

    @classmethod
    def from_disk(cls, path: str | Path, precision: str | None = None, exact: bool = False) -> "FrictionPipeline":
        """Load a folder (`exact`: see FrictionClassifier.load). A folder from before pipelines
        (no "pipeline" in its config) gets screen (when it has screen/) -> classifier -> evidence."""
        path = Path(path)
        model = FrictionClassifier.load(path, precision=precision, exact=exact)
        entries = model.config_.get("pipeline")
        if entries is None:
            entries = ([{"name": "screen", "path": "screen"}] if (path / "screen" / "screen.json").exists() else []) + \
                [{"name": "classifier"}, {"name": "evidence"}]
        parts: list = []
        for entry in entries:
            name = entry.get("name")
            if name == "screen":
                parts.append(ScreenComponent.from_disk(path, entry))
            elif name == "classifier":
                parts.append(ClassifierComponent(model))
            elif name == "evidence":
                parts.append(EvidenceComponent.from_disk(path, entry))
            else:
                raise ValueError(f"{path}/config.json: unknown pipeline component {name!r}")
        return cls(parts)

    @classmethod
    def of(cls, model: FrictionClassifier, screen: FrictionScreen | None = None) -> "FrictionPipeline":
        """The standard pipeline around a trained classifier (and screen, when there is one)."""
        parts: list = [ScreenComponent(screen)] if screen is not None else []
        return cls(parts + [ClassifierComponent(model), EvidenceComponent()])
