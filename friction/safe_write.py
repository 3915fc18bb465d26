"""Writing output files safely: checked before the expensive work, written to a temporary file
in the same folder and renamed into place, never through a symbolic link.

A symlink planted at `out/report.html` would otherwise make a report overwrite whatever it
points at; a full disk or a crash would leave half a file under the final name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UserError


class SafeWriteError(UserError, OSError):
    """An output path that cannot be written; the message is one line naming it."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_target(path: Path) -> None:
    """Refuse a path that is a symbolic link or exists as something other than a regular file."""
    if path.is_symlink():
        raise SafeWriteError(f"{path}: is a symbolic link; refusing to write through it")
    if path.exists() and not path.is_file():
        raise SafeWriteError(f"{path}: exists and is not a regular file")


def check_folder(folder: Path, create: bool = True) -> None:
    """Make sure `folder` is (or can be made) a folder we can write into: not a file, not
    read-only. Run before the expensive work."""
    if folder.exists() and not folder.is_dir():
        raise SafeWriteError(f"{folder}: exists and is not a folder")
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SafeWriteError(f"{folder}: cannot create the folder ({_reason(exc)})") from None
    elif not folder.is_dir():
        return
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".friction-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SafeWriteError(f"{folder}: cannot write into the folder ({_reason(exc)})") from None


def temp_beside(path: Path) -> Path:
    """A new, empty, private temporary file in path's folder (so the rename stays on one disk)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as exc:
        raise SafeWriteError(f"{path.parent}: cannot write into the folder ({_reason(exc)})") from None
    os.close(fd)
    return Path(tmp)


def publish(tmp: Path, path: Path) -> None:
    """Rename a finished temporary file onto `path` with the usual permissions (umask)."""
    check_target(path)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)


class Outputs:
    """A set of files written together: each goes to a temporary file first, and the renames
    start only when every one was written (a full disk fails before any old file is replaced);
    on any error the temporary files are removed and the error is one SafeWriteError line."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def __enter__(self) -> "Outputs":
        return self

    def path(self, final: Path) -> Path:
        """A temporary path to write `final`'s content to."""
        check_target(final)
        tmp = temp_beside(final)
        self._pending.append((tmp, final))
        return tmp

    def write_text(self, final: Path, text: str) -> None:
        tmp = self.path(final)
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SafeWriteError(f"{final}: cannot write ({_reason(exc)})") from None

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                for tmp, final in self._pending:
                    try:
                        publish(tmp, final)
                    except SafeWriteError:
                        raise
                    except OSError as err:
                        raise SafeWriteError(f"{final}: cannot write ({_reason(err)})") from None
        finally:
            for tmp, _ in self._pending:
                tmp.unlink(missing_ok=True)
