"""The process pool and the Dask engine give the local engine's results, row for row, and an
interrupted scan resumes from the store."""

from __future__ import annotations

import pandas as pd
import pytest

from friction.keyfile import write_key
from friction.scan import ScanOptions, run_scan
from friction.store import Store

FIX = "tests/fixtures/scan"
COLS = ["id", "timestamp", "channel", "author_team", "target_team", "labels", "stage", "evidence", "tokens"]


def scan(tmp_path, name, **kw) -> pd.DataFrame:
    key = tmp_path / f"{name}.duckdb.key"
    if not key.exists():  # one key for every store compared: ids are keyed hashes
        write_key(key, bytes(range(32)))
    opts = ScanOptions(inputs=[f"{FIX}/messages.csv"], roster=f"{FIX}/roster.csv", db=str(tmp_path / f"{name}.duckdb"),
                       out=str(tmp_path / name), min_group=2, allow_small_groups=True, progress=False,
                       chunk_size=8, **kw)
    run_scan(opts)
    with Store(opts.db) as store:
        df = store.messages().sort_values("id").reset_index(drop=True)
    return df.drop(columns=["scan_id"])


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return scan(tmp_path_factory.mktemp("local"), "local")


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a["id"]) == list(b["id"])
    pd.testing.assert_frame_equal(a[COLS], b[COLS])
    scores = [c for c in a.columns if c.startswith("score_")]
    assert (a[scores] - b[scores]).abs().max().max() < 1e-4
    flags = [c for c in a.columns if c.startswith("flag_")]
    pd.testing.assert_frame_equal(a[flags], b[flags])


def test_process_pool_matches_local(local, tmp_path):
    assert_same(local, scan(tmp_path, "pool", workers=2))


def test_dask_local_cluster_matches_local(local, tmp_path):
    pytest.importorskip("dask.distributed")
    assert_same(local, scan(tmp_path, "dask", engine="dask", workers=2))


def test_interrupted_scan_resumes(local, tmp_path):
    """A scan stopped after its first chunk picks up the rest on the next run."""
    import friction.scan as scan_mod

    calls = {"n": 0}
    real = scan_mod.classify_chunk

    def dies_after_one(chunk, cfg):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(chunk, cfg)

    scan_mod.classify_chunk = dies_after_one
    try:
        with pytest.raises(KeyboardInterrupt):
            scan(tmp_path, "resume")
    finally:
        scan_mod.classify_chunk = real
    with Store(str(tmp_path / "resume.duckdb")) as store:
        assert len(store.messages()) == 8
    assert_same(local, scan(tmp_path, "resume"))
