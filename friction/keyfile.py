"""The pseudonym key: kept in its own file, never in the store it protects.

Whoever holds the store and the key (and a roster) can re-identify every pseudonymised author
and every hashed id; the store alone cannot. By default the key sits beside the store as
`<db>.key` (created with permissions 0600); `--key-file` / `$FRICTION_KEY_FILE` put it anywhere
else, e.g. on a separate volume or in the user's config folder.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from .errors import UserError


class KeyFileError(UserError, OSError):
    """The key file cannot be read or written (one clear line for the user)."""


def key_path(db: str, key_file: str | None = None) -> Path:
    """Where the key of the store `db` lives: `key_file` when given, else `<db>.key`."""
    return Path(key_file) if key_file else Path(f"{db}.key")


def read_key(path: Path) -> bytes | None:
    """The key in `path`, or None when there is no such file. A key readable by others is
    warned about (it is as sensitive as the roster)."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        st = path.stat()
        value = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read the pseudonym key ({exc})") from None
    if len(value) < 16:
        raise KeyFileError(f"{path}: not a pseudonym key (too short)")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {path}: the pseudonym key is readable by other users; chmod 600 it", file=sys.stderr)
    return value


def write_key(path: Path, value: bytes | None = None) -> bytes:
    """Create the key file (0600, never through an existing file or symlink) and return the key."""
    value = value or secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(value.hex() + "\n")
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot write the pseudonym key ({exc.strerror or exc})") from None
    return value
