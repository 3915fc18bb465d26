"""The label set: ids, names and the one-line descriptions from the label guide (shared/taxonomy.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Label:
    id: str
    name: str
    description: str


DEFAULT_LABELS: tuple[Label, ...] = (
    Label("blame", "Blame game",
          "a failure, miss or problem attributed to another person or team"),
    Label("budget_rivalry", "Competition for funding",
          "competing for money, headcount, tools or other limited resources against another team"),
    Label("goal_mismatch", "Overlapping or unclear goals",
          "targets, metrics, ownership or timelines that conflict, overlap or are unclear between teams"),
    Label("communication_breakdown", "Ineffective or missing communication",
          "information not shared, requests unanswered, surprises, silos"),
    Label("role_confusion", "Misunderstood roles",
          "stereotyping or dismissing the other function's work or value, or disputes about who does what"),
    Label("culture_clash", "Personality or culture clash",
          "friction about work style, personality or tone; condescension, hostility, personal digs"),
    Label("strategy_misalignment", "Disparate or unaligned strategies",
          "plans, priorities, target customers, messaging or efforts that contradict or duplicate each other"),
)
DEFAULT_LABEL_IDS: tuple[str, ...] = tuple(lab.id for lab in DEFAULT_LABELS)
NONE = "none"


def parse_labels(cell) -> list[str]:
    """'blame;culture_clash' -> ['blame', 'culture_clash']; '', None, 'none' -> []."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return []
    if isinstance(cell, (list, tuple)):
        items = cell
    else:
        items = str(cell).replace(",", ";").split(";")
    return [s.strip() for s in items if s and s.strip() and s.strip() != NONE]


def load_label_set(path: str | Path) -> tuple[list[Label], dict[str, str]]:
    """A custom label set from YAML:

        labels:
          - id: blame
          - id: unclear_ownership        # a rename: old ids listed under `from`
            from: [goal_mismatch]
            description: who owns a number, account or deadline is unclear
          - id: tooling_gaps              # a new label
            name: Tooling gaps
            description: ...

    Default labels not listed are dropped. Returns (labels, renames old_id -> new_id).
    """
    import yaml

    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    known = {lab.id: lab for lab in DEFAULT_LABELS}
    labels: list[Label] = []
    renames: dict[str, str] = {}
    for item in doc.get("labels") or []:
        if isinstance(item, str):
            item = {"id": item}
        lid = str(item["id"]).strip()
        base = known.get(lid)
        for old in item.get("from") or []:
            renames[str(old)] = lid
            base = base or known.get(str(old))
        labels.append(Label(lid, item.get("name") or (base.name if base else lid.replace("_", " ").capitalize()),
                            item.get("description") or (base.description if base else lid.replace("_", " "))))
    if not labels:
        raise ValueError(f"{path}: no labels listed under 'labels:'")
    ids = [lab.id for lab in labels]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate label ids")
    return labels, renames
