"""The library surface: the public API, the one reader table, the one settings object, and the
shipped model travelling as package data."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import friction
from friction import api
from friction.ingest.registry import BY_SUFFIX, FORMATS, READERS, detect, read_source
from friction.ingest.sources import Source
from friction.ingest.summary import IngestSummary
from friction.settings import ENV_VARS, Settings

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ public API
def test_friction_scan_stays_the_library_function_when_the_scan_module_is_imported():
    """Regression: `friction.scan` is also a module; importing it (as friction.api.scan itself does)
    rebound the package attribute to the module, and a second `friction.scan(...)` failed."""
    import importlib

    for _ in range(2):
        with pytest.raises(TypeError, match="colour"):   # reached ScanOptions: the call went to api.scan
            friction.scan(["corpora/demo"], colour="red")
    importlib.import_module("friction.scan")
    with pytest.raises(TypeError, match="colour"):
        friction.scan(["corpora/demo"], colour="red")
    from friction.scan import ScanOptions                # the module's own names still import

    assert ScanOptions(inputs=["x"]).chunk_size == Settings().scan_chunk


def test_public_names_resolve_and_say_what_they_do():
    from friction import api

    for name in ("scan", "read_messages", "load_model", "train", "evaluate"):
        assert name in friction.__all__
        fn = getattr(api, name)
        assert callable(getattr(friction, name)) and fn.__module__ == "friction.api"
        assert len(fn.__doc__ or "") > 80 and ">>>" in fn.__doc__, name  # a docstring with an example
    with pytest.raises(AttributeError):
        friction.no_such_name  # noqa: B018


def test_import_friction_stays_cheap():
    code = "import sys, friction; print(json.dumps(sorted(m for m in ('torch', 'pandas') if m in sys.modules)))"
    r = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_read_messages_takes_a_roster_path(tmp_path):
    summary = IngestSummary(echo=False)
    chunks = list(friction.read_messages([ROOT / "tests/fixtures/ingest/teams"],
                                         roster=ROOT / "tests/fixtures/ingest/roster.csv", summary=summary))
    df = pd.concat(chunks)
    assert summary.kept == len(df) > 0
    assert (df["author_team"] != "unknown").any()


def test_read_messages_takes_one_path_as_well_as_a_list():
    one = pd.concat(list(friction.read_messages(ROOT / "tests/fixtures/ingest/teams")))
    listed = pd.concat(list(friction.read_messages([ROOT / "tests/fixtures/ingest/teams"])))
    assert len(one) > 0 and one["id"].tolist() == listed["id"].tolist()


def test_the_demo_truth_file_names_messages_by_the_ids_the_readers_give():
    """truth.csv is how anyone checks the demo report message by message: every row must be found."""
    truth = pd.read_csv(ROOT / "corpora/demo/truth.csv")
    ids = set(pd.concat(list(friction.read_messages(ROOT / "corpora/demo/exports")))["id"])
    assert truth["message_id"].isin(ids).all() and truth["message_id"].str.startswith("vtt:").sum() > 100


def test_training_data_mixes_in_a_corpus_without_its_test_split():
    fix = ROOT / "tests/fixtures/model"
    alone, labels, renames = api.training_data(fix / "tiny.jsonl", fix / "labels.yaml")
    mixed, _, _ = api.training_data(fix / "tiny.jsonl", fix / "labels.yaml", mix=ROOT / "corpora/train")
    from friction.corpus import load_corpus

    corpus = load_corpus(str(ROOT / "corpora/train"))
    assert [lab.id for lab in labels] == ["budget_rivalry", "tone_and_style"]
    assert renames == {"culture_clash": "tone_and_style"}
    assert len(mixed) == len(alone) + int((corpus["split"] != "test").sum())  # the mix's test split is left out
    assert set(mixed["split"]) <= {"train", "dev"}


def test_evaluation_splits_choose_test_and_train_rows():
    df = pd.DataFrame({"text": list("abcdef"), "split": ["train", "train", "dev", "test", "test", "train"]})
    test, train, dev = api.evaluation_splits(df)
    assert list(test["text"]) == ["d", "e"] and list(train["text"]) == ["a", "b", "f"] and list(dev["text"]) == ["c"]
    plain = df.drop(columns="split")                              # no splits: all of it is test, nothing trains
    test, train, dev = api.evaluation_splits(plain)
    assert len(test) == 6 and len(train) == 0 and dev is None
    ref = df.assign(text=list("uvwxyz"))                         # --train-data: the baselines' rows come from it
    test, train, dev = api.evaluation_splits(plain, reference=ref)
    assert list(train["text"]) == ["u", "v", "z"] and list(dev["text"]) == ["w"]


def test_cli_holds_no_training_evaluation_or_splitting_logic():
    cli = (ROOT / "friction" / "cli.py").read_text()
    for name in ("load_corpus", "train_on_splits", "score_model", "score_baselines", "train_recipe",
                 '["split"]', "pd.concat(["):
        assert name not in cli, name


def test_train_without_data_or_output_is_one_clear_error():
    with pytest.raises(ValueError, match="output"):
        friction.train("x.csv")
    with pytest.raises(ValueError, match="DATA, or a recipe"):
        friction.train(output="models/x")


# ------------------------------------------------------------------ the reader table
def source(path: Path) -> Source:
    return Source(name=str(path), rel=path.name, opener=lambda: open(path, "rb"), size=path.stat().st_size)


def test_one_reader_table_serves_format_choice_detection_and_dispatch(tmp_path):
    from friction.cli import ingest

    choice = next(p for p in ingest.params if p.name == "fmt").type.choices
    assert tuple(choice) == FORMATS == tuple(f.name for f in READERS)
    assert set(BY_SUFFIX.values()) <= set(FORMATS)
    for sfx, name in BY_SUFFIX.items():                          # a name alone is enough when content says nothing
        f = tmp_path / f"plain{sfx}"
        f.write_text("just some words\n")
        assert detect(source(f)) == name, sfx
    with pytest.raises(ValueError, match="unknown format 'fax'"):
        read_source(source(f), "fax", IngestSummary(echo=False))


def test_every_format_is_read_through_the_table(tmp_path):
    notes = tmp_path / "2024-03-07 sync.md"
    notes.write_text("- Sales and marketing disagreed on the launch date\n")
    rows = list(read_source(source(notes), "notes", IngestSummary(echo=False)))
    assert rows and "launch date" in rows[0]["text"]
    table = tmp_path / "t.csv"
    table.write_text("body,sender\nThe budget went to ops again,ana\n")
    rows = list(read_source(source(table), "csv", IngestSummary(echo=False), {"body": "text",
                                                                                           "sender": "author"}))
    assert rows[0]["text"] == "The budget went to ops again" and rows[0]["author"] == "ana"


# ------------------------------------------------------------------ settings
def test_settings_precedence_defaults_env_options():
    assert Settings().precision == "auto" and Settings().model is None and Settings().int8
    env = Settings.from_env({"FRICTION_MODEL": "models/acme", "FRICTION_PRECISION": "fp32", "FRICTION_INT8": "0",
                             "FRICTION_KEY_FILE": " ", "UNRELATED": "x"})
    assert (env.model, env.precision, env.int8, env.key_file) == ("models/acme", "fp32", False, None)
    cli = env.override(model="models/other", key_file=None)       # an option not given leaves the env's value
    assert cli.model == "models/other" and cli.precision == "fp32"
    with pytest.raises(TypeError, match="unknown settings: colour"):
        env.override(colour="red")
    with pytest.raises(ValueError, match="scan_chunk"):
        Settings(scan_chunk=0)


def test_every_env_var_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for var in ENV_VARS:
        assert f"`{var}`" in readme, var


def test_no_module_writes_the_environment_on_import():
    code = ("import os, json; before = dict(os.environ); "
            "import friction.cli, friction.api, friction.model, friction.model.encoder, friction.scan; "
            "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM")}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_each_cli_command_reads_the_environment_once_at_its_start(monkeypatch):
    from click.testing import CliRunner

    from friction.cli import cli
    from friction.settings import current_settings

    monkeypatch.setenv("FRICTION_MODEL", "models/a")
    assert CliRunner().invoke(cli, ["export", "--help"]).exit_code == 0
    assert current_settings().model == "models/a"
    monkeypatch.setenv("FRICTION_MODEL", "models/b")
    assert current_settings().model == "models/a"                     # read once, kept...
    assert CliRunner().invoke(cli, ["export", "--help"]).exit_code == 0
    assert current_settings().model == "models/b"                     # ...until the next command starts


# ------------------------------------------------------------------ packaging
def test_build_config_lists_every_package_and_ships_the_model():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = sorted(".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "friction").rglob("__init__.py"))
    assert sorted(p for p in cfg["packages"] if p != "friction_models") == on_disk
    assert cfg["package-dir"]["friction_models"] == "models"
    shipped = {str(p.relative_to(ROOT / "models")) for p in (ROOT / "models/default").rglob("*") if p.is_file()}
    patterns = cfg["package-data"]["friction_models"]
    globbed = {str(p.relative_to(ROOT / "models")) for pat in patterns for p in (ROOT / "models").glob(pat)
               if p.is_file()}
    assert shipped and shipped == globbed                       # every file of the model goes into the wheel


def test_installed_package_finds_the_model_through_importlib_resources(tmp_path, monkeypatch):
    from friction import shipped

    assert shipped.shipped_model_dir() == ROOT / "models" / "default"          # a checkout: its own folder
    site = tmp_path / "site"
    (site / "friction_models" / "default").mkdir(parents=True)
    (site / "friction_models" / "__init__.py").write_text("")
    (site / "friction_models" / "default" / "config.json").write_text("{}")
    monkeypatch.setattr(shipped, "CHECKOUT_ROOT", tmp_path / "site-packages")  # no checkout around the package
    monkeypatch.syspath_prepend(str(site))
    sys.modules.pop("friction_models", None)
    assert shipped.shipped_model_dir() == site / "friction_models" / "default"
    sys.modules.pop("friction_models", None)
