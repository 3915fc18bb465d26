"""A small hand-made store for the report tests (no model): three quarters, four teams, two
labels, one visible pair, one pair hidden to protect a team of one, and evidence that tries to
break the page."""

from __future__ import annotations

import json

import pandas as pd

from friction.store import Store

LABELS = ("blame", "culture_clash")
XSS = '<img src=x onerror="window.__pwned=1"> and </script><script>window.__pwned=2</script>'
K = 5


def row(i, when, author, team, target, channel="email", labels=(), score=0.1, evidence="", before="", after="",
        tokens=""):
    r = {"id": f"msg-{i}", "timestamp": pd.Timestamp(when, tz="UTC"), "channel": channel, "source": "table",
         "author": author, "author_team": team, "target_team": target, "recipient_teams": "", "thread_id": "",
         "reply_to": "", "is_request": False, "labels": ";".join(labels),
         "evidence": json.dumps({lab: [evidence] for lab in labels}) if labels else "",
         "context": json.dumps({lab: [[before, after]] for lab in labels}) if labels else "",
         "tokens": tokens}
    for lab in LABELS:
        r[f"score_{lab}"] = score if lab in labels else 0.01
        r[f"flag_{lab}"] = lab in labels
    return r


def fixture_rows() -> list[dict]:
    rows, i = [], 0
    for q, when in enumerate(("2025-02-03", "2025-05-05", "2025-08-04")):
        for j in range(30):  # Ops blames Marketing: 6 authors, more each quarter
            i += 1
            flagged = j < 8 + 6 * q
            rows.append(row(i, when, f"ops{j % 6}", "Ops", "Marketing" if flagged else "", "email" if j % 4 < 2 else "chat",
                            ("blame",) if flagged else (), 0.6 + 0.01 * (j % 10), f"OPS-EVIDENCE {q}-{j} missed deadline",
                            "Before that we met.", "After that we left.",
                            "marketing missed deadline again" if flagged else "weekly sync notes"))
        for j in range(12):  # Sales: culture clash towards Ops, 6 authors; neutral otherwise
            i += 1
            flagged = j < 6
            rows.append(row(i, when, f"sales{j % 6}", "Sales", "Ops" if flagged else "", "chat",
                            ("culture_clash",) if flagged else (), 0.7, f"SALES-EVIDENCE {q}-{j} rude tone",
                            tokens="rude tone condescending"))
        for j in range(12):  # Marketing writes neutral messages (team size 6)
            i += 1
            rows.append(row(i, when, f"mkt{j % 6}", "Marketing", "", tokens="campaign launch plan"))
    i += 1  # a Legal team of one: blame towards Marketing, the highest score of all
    rows.append(row(i, "2025-08-14", "legal-1", "Legal", "Marketing", "email", ("blame",), 0.99, "LEGAL-SECRET evidence"))
    # a message that tries to break the page, in the visible Ops -> Marketing cell
    rows.append(row(9999, "2025-05-06", "ops1", "Ops", "Marketing", "email", ("blame",), 0.98, XSS, tokens="missed deadline"))
    return rows


def make_store(db, rows=None) -> None:
    rows = fixture_rows() if rows is None else rows
    with Store(db) as store:
        scan = store.begin_scan(["fixture"], "m", "", "quarter", K, False, False)
        df = pd.DataFrame(rows).assign(model_id="m", scan_id=scan)
        store.upsert(df, list(LABELS))
        store.finish_scan(scan, {"read": len(df), "kept": len(df)}, len(df))
