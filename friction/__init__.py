"""friction: find friction between teams in a company's own communications.

The library API (each documented in docs/api.md):

    >>> import friction
    >>> friction.scan(["exports/"], roster="roster.csv", db="friction.duckdb", out="reports/")
    >>> for chunk in friction.read_messages(["exports/"]): ...
    >>> model = friction.load_model()                      # the shipped default
    >>> friction.train("labels.csv", "models/acme", base="models/default")
    >>> friction.evaluate("corpora/train", model="models/acme")

The names load on first use, so `import friction` stays cheap (no torch, no pandas).
"""

__version__ = "0.1.0"

__all__ = ["scan", "read_messages", "load_model", "train", "evaluate", "Settings", "current_settings",
           "__version__"]

_API = {"scan", "read_messages", "load_model", "train", "evaluate"}
_SETTINGS = {"Settings", "current_settings"}


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _SETTINGS:
        from . import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'friction' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
