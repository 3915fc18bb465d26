"""Turn the paths a user names (files, folders, zips) into readable sources.

A zip is read in place, entry by entry: nothing is extracted to disk, entries with
unsafe paths, absurd compression ratios, encryption or an unsupported compression method
are refused and counted, and an archive stops being read at the caps in `Limits`.
Inside a folder, symlinks are never followed (one could lead out of the folder) and only
regular files are opened (a FIFO would block the run); each skip is counted by reason.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from .limits import Limits
from .summary import IngestSummary

#: Refuse zip entries that inflate more than this many times (zip bombs) ...
MAX_COMPRESSION_RATIO = 200
#: ... or to more than this many bytes.
MAX_ENTRY_BYTES = 4 * 1024**3
#: Compression methods the standard library can inflate (deflate64, PKWARE implode... cannot).
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
SYMLINK = "symlink (not followed)"
NOT_REGULAR = "not a regular file (FIFO, socket or device)"


@dataclass(frozen=True)
class Source:
    """One readable file, on disk or inside a zip."""

    name: str                     # what warnings and origin_file show: path or "archive.zip!entry"
    rel: str                      # path relative to the folder/zip it was found in (posix)
    opener: Callable[[], BinaryIO]
    size: int

    def open(self) -> BinaryIO:
        return self.opener()

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()

    def head(self, n: int = 4096) -> bytes:
        with self.open() as fh:
            return fh.read(n)

    @property
    def stem(self) -> str:
        return PurePosixPath(self.rel).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.rel).suffix.lower()

    @property
    def parts(self) -> tuple[str, ...]:
        return PurePosixPath(self.rel).parts


IGNORE_FILE = ".frictionignore"


def iter_tree(path: str | os.PathLike, summary: IngestSummary, exclude: set[str] | None = None,
              limits: Limits | None = None) -> Iterator[list[Source]]:
    """Yield the sources of one user-named path as lists of files sharing a container.

    A plain file yields one list of one; a folder or a zip yields one list of all its files
    (so that a reader can see the structure, e.g. a Slack export's users.json). In a folder,
    a `.frictionignore` file lists glob patterns (one a line, `dir/` for folders) of files that
    are not messages (a README, a roster); they are counted as ignored.
    """
    p = Path(path)
    limits = limits or Limits()
    if p.is_dir():
        patterns = _ignore_patterns(p)
        kept = []
        for src in _walk_dir(p, summary):
            if (exclude and os.path.abspath(src.name) in exclude) or _ignored(src.rel, patterns):
                summary.skip(f"ignored ({IGNORE_FILE} or roster)", warn=False)
                continue
            kept.append(src)
        yield kept
    elif p.is_file() and zipfile.is_zipfile(p) and p.suffix.lower() not in (".docx", ".xlsx"):
        yield list(_walk_zip(p, str(p), summary, _Budget(limits)))
    elif p.is_file():
        yield [_file_source(p, p.name, str(p), follow=True)]
    elif p.exists():
        summary.skip(NOT_REGULAR, str(p))
    else:
        summary.skip("path not found", str(p))


def _ignore_patterns(root: Path) -> list[str]:
    f = root / IGNORE_FILE
    if not f.is_file():
        return []
    return [ln.strip() for ln in f.read_text(encoding="utf-8", errors="replace").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def _ignored(rel: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatch

    for pat in patterns:
        if pat.endswith("/"):
            if rel.startswith(pat) or f"/{pat}" in f"/{rel}":
                return True
        elif fnmatch(rel, pat) or fnmatch(rel.rsplit("/", 1)[-1], pat):
            return True
    return False


class NotRegularFile(OSError, ValueError):
    """A path that is a FIFO, socket, device or (when not followed) symlink, not a file."""


def open_regular(path: str | os.PathLike, follow: bool = True) -> BinaryIO:
    """Open a regular file for reading without ever blocking: the open is non-blocking (a FIFO
    opens at once) and anything but a regular file is refused with NotRegularFile; with
    follow=False a symlink is refused too (it may have replaced the file since the walk)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(f"{path}: {NOT_REGULAR}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _file_source(p: Path, rel: str, name: str, follow: bool = False) -> Source:
    return Source(name=name, rel=rel, opener=lambda: open_regular(p, follow), size=p.stat().st_size)


def _walk_dir(root: Path, summary: IngestSummary) -> Iterator[Source]:
    def unreadable(exc: OSError) -> None:
        summary.skip("unreadable folder", str(exc.filename or root), detail=exc.strerror or str(exc))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        for d in [d for d in dirnames if not d.startswith(".") and os.path.islink(os.path.join(dirpath, d))]:
            summary.skip(SYMLINK, os.path.join(dirpath, d))   # os.walk does not descend into it
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not os.path.islink(os.path.join(dirpath, d)))
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            fp = Path(dirpath) / fn
            try:
                mode = fp.lstat().st_mode
            except OSError as exc:
                summary.skip("unreadable file", str(fp), detail=exc.strerror or str(exc))
                continue
            if stat.S_ISLNK(mode):
                summary.skip(SYMLINK, str(fp))
            elif not stat.S_ISREG(mode):
                summary.skip(NOT_REGULAR, str(fp))
            else:
                yield _file_source(fp, fp.relative_to(root).as_posix(), str(fp))


class _Budget:
    """What one top-level archive (nested zips included) may still inflate and hold."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.bytes_left = limits.max_archive_bytes
        self.entries_left = limits.max_archive_entries

    def refusal(self, infos: list[zipfile.ZipInfo]) -> str | None:
        """Why a whole archive is refused: its entries together inflate too far."""
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos) or 1
        if total > self.limits.ratio_floor_bytes and total / packed > self.limits.max_archive_ratio:
            return f"inflates {total:,} bytes from {packed:,}"
        return None

    def take(self, info: zipfile.ZipInfo) -> str | None:
        """Reserve one entry; the cap it would break, if any."""
        if self.entries_left < 1:
            return f"more than {self.limits.max_archive_entries:,} entries"
        if info.file_size > self.bytes_left:
            return f"more than {self.limits.max_archive_bytes:,} inflated bytes"
        self.entries_left -= 1
        self.bytes_left -= info.file_size
        return None


def _walk_zip(zpath: Path, label: str, summary: IngestSummary, budget: _Budget,
              data: bytes | None = None) -> Iterator[Source]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if data is not None else zpath)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        summary.skip("corrupt zip", label, detail=str(exc))
        return
    entries = sorted((i for i in zf.infolist() if not i.is_dir()), key=lambda i: i.filename)
    why = budget.refusal(entries)
    if why:
        summary.skip("zip archive compression ratio too high", label, detail=f"{len(entries)} entries; {why}",
                     n=len(entries))
        return
    for k, info in enumerate(entries):
        name = f"{label}!{info.filename}"
        rel = PurePosixPath(info.filename.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts or ":" in info.filename.split("/")[0]:
            summary.skip("unsafe path in zip", name)
            continue
        if info.file_size > MAX_ENTRY_BYTES or (
            info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
            and info.file_size > 1_000_000
        ):
            summary.skip("zip entry compression ratio too high", name)
            continue
        if rel.name.startswith(".") or "__MACOSX" in rel.parts:
            continue
        if info.flag_bits & 0x1:
            summary.skip("encrypted zip entry (password-protected)", name)
            continue
        if info.compress_type not in READABLE_METHODS:
            summary.skip("unsupported zip compression method", name,
                         detail=f"method {info.compress_type}{' (deflate64)' if info.compress_type == 9 else ''}")
            continue
        cap = budget.take(info)
        if cap:
            rest = len(entries) - k
            summary.skip("zip archive cap reached", label, detail=f"{rest} entries not read: {cap}", n=rest)
            return
        if rel.suffix.lower() == ".zip":
            try:
                inner = zf.read(info)
            except Exception as exc:  # noqa: BLE001 - corrupt entry, count and go on
                summary.skip("corrupt zip entry", name, detail=str(exc))
                continue
            yield from _walk_zip(zpath, name, summary, budget, data=inner)
            continue
        yield Source(name=name, rel=rel.as_posix(), opener=_zip_opener(zf, info), size=info.file_size)


def _zip_opener(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], BinaryIO]:
    return lambda: zf.open(info)
