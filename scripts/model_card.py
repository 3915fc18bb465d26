"""Write a model folder's README.md (its model card) from the figures measured for it.

    python scripts/evaluate_worlds.py --json /tmp/eval.json
    python scripts/eval_external.py --json /tmp/external.json
    python scripts/experiments/learning_curve.py --json /tmp/lc.json
    python scripts/model_card.py models/default --evaluate /tmp/eval.json --external /tmp/external.json \
        --learning-curve /tmp/lc.json

Every number in the card comes from those files or the folder's config.json / metrics.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

METHOD_COMPARISON = """\
Recipes compared on the dev split with `python scripts/experiments/compare_methods.py` (one H100, on the
corpus as it was then: 1,935 train / 394 dev / 378 test messages; selection by dev only):

| recipe | dev macro-F1 | test macro-F1 | test false alarms on none |
|---|---:|---:|---:|
| fine-tune, 4 epochs, lr 5e-5 | 0.750 | 0.720 | 5.6% |
| fine-tune, 6 epochs, lr 5e-5 | 0.776 | 0.760 | 3.4% |
| fine-tune, 8 epochs, lr 5e-5 | 0.792 | 0.732 | 4.5% |
| fine-tune, 6 epochs, lr 8e-5 | 0.798 | 0.767 | 2.2% |
| fine-tune, 6 epochs, max 256 tokens | 0.776 | 0.750 | 3.9% |
| fine-tune, 6 epochs + previous chat message as context | 0.780 | 0.735 | 6.1% |
| SetFit-style contrastive, then heads | 0.719 | 0.732 | 1.7% |
| fine-tune, 6 epochs, lr 1.2e-4 (3 seeds: 0.814 / 0.805 / 0.809 dev) | 0.809 | 0.776 | 4.3% |
| ... the same 3 seeds, ensemble of predictions (3x inference) | 0.818 | 0.810 | 4.5% |
| ... the same 3 seeds, weight soup (1x inference) | 0.814 | 0.786 | 2.8% |

Direct multi-label fine-tuning beats SetFit-style training by 0.06-0.09 dev macro-F1, so it won.
The previous message of a chat thread as context did not help (dev +0.004, test -0.025), so the
shipped model reads each message alone (`friction train --context` keeps the option). A weight
soup of seeds keeps most of an ensemble's gain at one model's cost."""


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--evaluate", help="JSON from `friction evaluate --json` (model + baselines)")
    ap.add_argument("--external", help="JSON from scripts/eval_external.py --json")
    ap.add_argument("--learning-curve", nargs="*", default=[], help="JSON from scripts/experiments/learning_curve.py --json")
    ap.add_argument("--note", action="append", default=[], help="an extra line for the Limits section")
    args = ap.parse_args()
    folder = Path(args.model)
    cfg = json.loads((folder / "config.json").read_text())
    td, rec = cfg.get("training_data", {}), cfg.get("recipe", {})
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    out = [f"# Model card: friction `{cfg.get('model_id', folder.name)}`", "",
           "Multi-label classifier of friction between teams in workplace messages (email bodies, chat "
           "messages, meeting turns and notes items), for `friction classify` and `friction scan`.", "",
           "## What it is",
           f"- Encoder: {cfg['encoder']}; one logistic head per label on the mean-pooled embedding.",
           f"- Labels: {', '.join(lab['id'] for lab in cfg['labels'])} (the label guide, shared/taxonomy.md).",
           "- Scores: Platt-calibrated probabilities per label; a message carries a label when its score "
           "reaches the label's threshold (tuned on dev for F1): " +
           ", ".join(f"{k} {v:.2f}" for k, v in cfg["thresholds"].items()) + ".",
           "- Evidence: the sentence(s) (spaCy en_core_web_sm sentences) that score highest for each label.",
           "- Long texts are read in overlapping 128-token windows; the strongest window counts" +
           (f" (in training too: up to {cfg['settings']['train_windows']} windows of a labelled text, one "
            "random window of a `none` text per pass)." if cfg.get("settings", {}).get("train_windows", 1) > 1
            else "."),
           f"- Folder: {size:.0f} MB — encoder weights as fp16 safetensors, heads/calibration as safetensors, "
           "settings as JSON; loading never unpickles anything and never runs training code.",
           ""]
    worlds = td.get("n_by_world", {})
    bg, aug = rec.get("background", {}), rec.get("augment", {})
    st = rec.get("settings", rec)
    out += ["## How it was made",
            f"- Data ({td.get('n', '?')} training messages, sha256 `{td.get('sha256', '')[:16]}…`): "
            f"{worlds.get('written', '?')} from our written corpus (train split), {worlds.get('real', '?')} real "
            f"messages read and labelled by annotators (corpora/real, train split: communities apart from the test "
            f"split's), {worlds.get('background', '?')} unlabelled real messages of the training communities as "
            f"background negatives (loss weight {bg.get('weight', '?')}; {td.get('teacher_dropped', '?')} dropped "
            f"because a TF-IDF teacher scored them >= {bg.get('teacher_max', '?')}), and {worlds.get('augmented', '?')} "
            f"copies of friction messages with a neutral sentence before or after them (share {aug.get('share', '?')}). "
            "Positives per label: " + ", ".join(f"{k} {v}" for k, v in td.get('positives', {}).items()) + ".",
            f"- Recipe (`recipe.yaml` in this folder): fine-tuned end to end, {st.get('epochs')} epochs, lr "
            f"{st.get('lr')}, batch {st.get('batch_size')}, max {st.get('max_length')} tokens, weighted BCE "
            "(positive weight sqrt(neg/pos), 1-8), bf16 autocast where the CPU has it. Calibration: Platt per "
            "label, then " + ("per label the threshold best on the mean of written-dev and real-dev F1 (each world "
                              "weighs the same; real dev is mostly `none`)." if rec.get("thresholds") == "worlds" else
                              "F1-best thresholds on written dev + real dev together (most real messages are `none`).") +
            (f" A uniform weight soup of {len(rec['soup'])} such models (ingredients: " +
             "; ".join(json.dumps(i) for i in rec["soup"]) + "), calibrated again on both dev splits."
             if rec.get("soup") else ""),
            f"- Remake it: `friction train --recipe models/default/recipe.yaml -o models/default` "
            f"({cfg.get('total_seconds', 0) / 60:.0f} min on this 2-core machine); it ends with the "
            "fast screen (`friction build-screen models/default` rebuilds only that).",
            "- Versions: " + ", ".join(f"{k} {v}" for k, v in cfg.get("versions", {}).items()) + ".", ""]
    if args.evaluate:
        ev = json.loads(Path(args.evaluate).read_text())
        names = list(ev)
        out += ["## Accuracy: written and real test splits",
                "`python scripts/evaluate_worlds.py` — the model next to four baselines trained on the same data "
                "(written train + real train, thresholds on both dev splits). The real test split is made of "
                "communities no training or dev message came from (the Racket Slack, the older kernel list, and "
                "mailboxes, committee meetings, research meetings and PR projects by hash); its random stratum is "
                "real traffic at its natural rate (about 3% friction).", ""]
        for test in ev[names[0]]:
            m = ev[names[0]][test]
            out += [f"### {test} ({m['n']} messages, {m['n'] - m['none_n']} with friction)", "",
                    "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
            for key, label in (("macro_f1", "macro-F1"), ("any_f1", "**any friction F1**"), ("any_p", "any friction precision"),
                               ("any_r", "any friction recall"), ("fpr_none", "false alarms on `none`"), ("ece", "ECE")):
                cells = []
                for n in names:
                    r = ev[n][test]
                    v = {"any_f1": r["any_friction"]["f1"], "any_p": r["any_friction"]["precision"],
                         "any_r": r["any_friction"]["recall"]}.get(key, r.get(key))
                    cells.append("–" if v is None else (pct(v) if key.startswith("fpr") else f"{v:.3f}"))
                out.append(f"| {label} | " + " | ".join(cells) + " |")
            per = [f"{lid} {v['precision']:.2f} / {v['recall']:.2f} / {v['f1']:.2f} (n={v['support']})"
                   for lid, v in m["per_label"].items() if v["support"] >= 20]
            out += ["", "Per label, labels with at least 20 positives (P / R / F1): " + ("; ".join(per) or "none") + ".", ""]
    if args.external:
        ext = json.loads(Path(args.external).read_text())
        table = ext.get("markdown")
        if not table:  # an older run's JSON: rebuild the table with the script's own formatter
            import importlib.util

            spec = importlib.util.spec_from_file_location("eval_external", Path(__file__).with_name("eval_external.py"))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            table = mod.markdown_table(ext["groups"]) + "\n\n" + mod.goal_summary(ext["groups"])
        out += ["## Real text written by strangers (evaluation only)",
                "`python scripts/eval_external.py` on the public datasets in ../shared/external (never used "
                "for training or tuning). Share of texts with any label:", "", table, ""]
    rows = []
    for f in args.learning_curve:
        rows += json.loads(Path(f).read_text())
    if rows:
        out += ["## Retraining on company data: learning curve",
                "`python scripts/experiments/learning_curve.py` — a custom label set (corpora/custom/labels.yaml) that renames "
                "`goal_mismatch` to `ownership_conflict` and adds `escalation_bypass` (written for this, one "
                "organisation to train, another to test). Macro-F1 over the 8 labels on the test split (corpus "
                "test split + the new label's test organisation).", "",
                "| start | examples per label | training messages | macro-F1 | escalation_bypass F1 | ownership_conflict F1 |",
                "|---|---:|---:|---:|---:|---:|"]
        for r in rows:
            out.append(f"| {'models/default' if r['start'] == 'default' else 'plain MiniLM'} | {r['per_label']} | "
                       f"{r['n_train']} | {r['macro_f1']:.3f} | {r['escalation_bypass_f1']:.3f} | {r['ownership_conflict_f1']:.3f} |")
        out.append("")
    out += ["## Method choice (written corpus, an earlier model)", METHOD_COMPARISON, "",
            "## Limits",
            "- Real labelled text comes from public mail, chat and meetings (Enron, kernel lists, Slack developer "
            "communities, committees, research meetings, PR comments), not from a company's own teams; rare labels "
            "(budget rivalry, goal mismatch) have few real examples, so their real-text figures are not measured.",
            "- English only. Read the evidence before acting on any number. Never for judging individuals.",
            *[f"- {n}" for n in args.note], ""]
    (folder / "README.md").write_text("\n".join(out))
    print(f"wrote {folder / 'README.md'}")


if __name__ == "__main__":
    main()
