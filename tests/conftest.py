from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: Public datasets live beside the repo (../shared/external), never inside it.
EXTERNAL = next((p for p in (ROOT.parent / "shared" / "external", ROOT / "shared" / "external") if p.is_dir()), None)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def external() -> Path:
    if EXTERNAL is None:
        pytest.skip("../shared/external is absent")
    return EXTERNAL


@pytest.fixture(autouse=True)
def fresh_settings():
    """Settings are read once per process; a test that changes FRICTION_* must not leave its
    values behind for the next test."""
    from friction.settings import refresh_settings

    yield
    refresh_settings()
