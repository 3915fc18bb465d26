"""scripts/annotate.py, the page-by-page reading tool of the real corpus: it shows a batch as
sample_real.py wrote it and records judgements in the format build_real_corpus.py folds in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "scripts" / "annotate.py"


def batch(tmp_path: Path) -> Path:
    (tmp_path / "batches").mkdir()
    rows = [{"key": f"k{i}", "channel": "chat", "text": t} for i, t in enumerate(
        ["lunch at noon?", "Third time asking for the numbers, still nothing.", "Thanks, merged."])]
    (tmp_path / "batches" / "batch_01.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], input=stdin, capture_output=True, text=True, timeout=120)


def test_show_numbers_the_messages_as_put_expects(tmp_path):
    folder = batch(tmp_path)
    r = run("show", str(folder), "batch_01", "1", "--size", "2")
    assert r.returncode == 0, r.stderr
    assert "3 messages, page 1 of 2" in r.stdout and "=== [2] key=k1" in r.stdout and "Thanks, merged." not in r.stdout
    assert "=== [3] key=k2" in run("show", str(folder), "batch_01", "2", "--size", "2").stdout


def test_put_records_good_lines_rejects_bad_ones_and_says_what_is_missing(tmp_path):
    folder = batch(tmp_path)
    r = run("put", str(folder), "batch_01", "ann-x",
            stdin="1 | none\n2 | communication_breakdown | UNCLEAR: one chase or a breakdown?\n3 | blam\n9 | none\n")
    assert r.returncode == 0
    assert "recorded 2 (rejected 2); missing: [3]" in r.stdout
    assert "unknown label(s) blam" in r.stderr and "item 9 is not in 1..3" in r.stderr
    r = run("put", str(folder), "batch_01", "ann-x", stdin="3 | none\n")
    assert "missing: []" in r.stdout
    lines = [json.loads(x) for x in (folder / "out" / "batch_01.jsonl").read_text().splitlines()]
    assert [(x["item"], x["key"], x["labels"]) for x in lines] == [(1, "k0", ""), (2, "k1", "communication_breakdown"), (3, "k2", "")]
    assert lines[1]["note"].startswith("UNCLEAR:") and {x["annotator"] for x in lines} == {"ann-x"}


def test_a_missing_batch_is_one_line(tmp_path):
    r = run("show", str(tmp_path), "batch_99", "1")
    assert r.returncode != 0 and "batch_99.jsonl: no such batch" in r.stderr and "Traceback" not in r.stderr
