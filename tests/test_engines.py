"""The process pool and the Dask engine give the local engine's results, row for row, and an
interrupted scan resumes from the store."""

from __future__ import annotations

import json

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
    # same decisions; bf16 sums in another order under another thread count, so scores agree to 1e-3
    # (int8, the runtime of CPUs without bf16, to 1e-2: 4e-3 measured with FRICTION_PRECISION=fp32)
    assert (a[scores] - b[scores]).abs().max().max() < 1e-2
    flags = [c for c in a.columns if c.startswith("flag_")]
    pd.testing.assert_frame_equal(a[flags], b[flags])


def test_process_pool_matches_local(local, tmp_path):
    assert_same(local, scan(tmp_path, "pool", engine="pool", workers=2))


def test_dask_local_cluster_matches_local(local, tmp_path):
    pytest.importorskip("dask.distributed")
    assert_same(local, scan(tmp_path, "dask", engine="dask", workers=2))


def test_interrupted_scan_resumes(local, tmp_path):
    """A scan stopped after its first chunk picks up the rest on the next run."""
    import friction.engines as engines_mod

    calls = {"n": 0}
    real = engines_mod.classify_chunk

    def dies_after_one(chunk, cfg, timings=None):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(chunk, cfg, timings)

    engines_mod.classify_chunk = dies_after_one
    try:
        with pytest.raises(KeyboardInterrupt):
            scan(tmp_path, "resume")
    finally:
        engines_mod.classify_chunk = real
    with Store(str(tmp_path / "resume.duckdb")) as store:
        assert len(store.messages()) == 8
    assert_same(local, scan(tmp_path, "resume"))


def test_engines_are_chosen_by_name_and_local_refuses_workers():
    from friction.engines import DaskEngine, LocalEngine, PoolEngine, make_engine

    assert isinstance(make_engine("local"), LocalEngine)
    assert isinstance(make_engine("pool", 2), PoolEngine) and isinstance(make_engine("dask", 2), DaskEngine)
    with pytest.raises(ValueError, match="--engine pool"):
        make_engine("local", 2)
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("spark")


def test_timings_are_an_object_passed_in_and_the_runtime_is_recorded(tmp_path):
    from friction.timings import Timings

    timings = Timings()
    scan(tmp_path, "timed", engine="pool", workers=2, timings=timings)
    assert timings.counts["messages"] == 30 and timings.seconds["classify: transformer"] > 0
    workers = [k for k in timings.peaks if k.startswith("peak RSS MB: worker")]
    assert len(workers) >= 1 and "peak RSS MB: driver" in timings.peaks
    with Store(str(tmp_path / "timed.duckdb")) as store:
        settings = json.loads(store.scans()["settings"].iloc[-1])
    assert settings["engine"] == "pool" and settings["runtime"].startswith(("torch-", "onnx-"))


def test_the_driver_never_loads_the_model(tmp_path, monkeypatch):
    """The pool and Dask engines classify in workers; the driver reads only config.json."""
    import friction.stage as stage

    def refuse(cfg):
        raise AssertionError("the driver loaded the model")

    monkeypatch.setattr(stage, "_heavy", refuse)  # workers are fresh processes and keep the real one
    scan(tmp_path, "nomodel", engine="dask", workers=1)
