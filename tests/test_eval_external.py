"""friction.external loads every external evaluation group (no model is run), and
scripts/eval_external.py, which prints its figures, stops cleanly without the data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from friction import external as mod

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [Path("/work/shared/external"), ROOT.parent / "shared" / "external"]


def _external() -> Path:
    for p in CANDIDATES:
        if p.is_dir():
            return p
    pytest.skip("external datasets (/work/shared/external or ../shared/external) are absent")


def test_external_groups_load():
    external = _external()
    groups = {g["key"]: g for g in mod.load_groups(str(external), limit=2000, chatter_limit=3000)}

    expected = {  # key: (min, max) number of texts
        "enron_hostile": (10, 60),
        "enron_neutral": (501, 2000),
        "toxicr_toxic": (1000, 2000),
        "toxicr_clean": (1000, 2000),
        "politeness_impolite": (1000, 2000),
        "politeness_polite": (1000, 2000),
        "strudel_toxic": (50, 200),
        "strudel_non_toxic": (1000, 2000),
        "irc_ubuntu": (1000, 3000),
        "ami_meetings": (1000, 3000),
    }
    assert set(groups) == set(expected)
    for key, (lo, hi) in expected.items():
        texts = groups[key]["texts"]
        assert lo <= len(texts) <= hi, (key, len(texts))
        assert all(isinstance(t, str) and t.strip() for t in texts), key

    # Paired groups have a hostile and a neutral side; chatter groups stand alone.
    pairs = {}
    for g in groups.values():
        if g["pair"]:
            pairs.setdefault(g["pair"], set()).add(g["role"])
    assert all(roles == {"hostile", "neutral"} for roles in pairs.values())

    # Chatter: the `[time] <nick>` prefix and AMI transcription marks are gone, >= 4 words each.
    for t in groups["irc_ubuntu"]["texts"]:
        assert not t.startswith("[") or "] <" not in t[:12]
        assert len(t.split()) >= 4
    assert not any("{disfmarker}" in t or "{vocalsound}" in t for t in groups["ami_meetings"]["texts"])
    # ToxiCR is deduplicated and its two sides do not share a text.
    tox, clean = groups["toxicr_toxic"]["texts"], groups["toxicr_clean"]["texts"]
    assert len(set(tox)) == len(tox) and not set(tox) & set(clean)
    # Sampling is deterministic (fixed seed).
    again = mod.load_toxicr(str(external), limit=2000)
    assert again["toxic"] == tox


def test_absent_external_folder_exits_cleanly(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "eval_external.py"), "--external",
                        str(tmp_path / "missing")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "not found" in r.stdout and "Traceback" not in r.stderr


def test_interval_is_the_reports_wilson_interval():
    from friction.trends import wilson

    lo, hi = mod.interval(3, 40)
    assert (lo, hi) == (float(wilson(3, 40)[0]), float(wilson(3, 40)[1]))
    assert 0 < lo < 3 / 40 < hi < 1
    assert all(x != x for x in mod.interval(0, 0))  # NaN for an empty group
