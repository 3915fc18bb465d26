"""Where the shipped default model lies: `models/default` of a source checkout, else the copy a
wheel or a non-editable install carries as package data (the `friction_models` package, built
from the top-level `models/` folder; see pyproject.toml)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT_ROOT = Path(__file__).resolve().parents[1]


def shipped_model_dir() -> Path:
    """The default model folder. A checkout's own `models/default` wins, so a model remade in
    place is the one used; an installed package finds its copy through importlib.resources."""
    checkout = CHECKOUT_ROOT / "models" / "default"
    if (CHECKOUT_ROOT / "pyproject.toml").is_file() and (checkout / "config.json").is_file():
        return checkout
    try:
        return Path(str(resources.files("friction_models") / "default"))
    except ModuleNotFoundError:
        return checkout  # neither: the caller reports "no friction model here" with this path
