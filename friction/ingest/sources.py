"""Turn the paths a user names (files, folders, zips) into readable sources.

A zip is read in place, entry by entry: nothing is extracted to disk, entries with
unsafe paths or absurd compression ratios are refused and counted.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from .summary import IngestSummary

#: Refuse zip entries that inflate more than this many times (zip bombs) ...
MAX_COMPRESSION_RATIO = 200
#: ... or to more than this many bytes.
MAX_ENTRY_BYTES = 4 * 1024**3


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


def iter_tree(path: str | os.PathLike, summary: IngestSummary, exclude: set[str] | None = None) -> Iterator[list[Source]]:
    """Yield the sources of one user-named path as lists of files sharing a container.

    A plain file yields one list of one; a folder or a zip yields one list of all its files
    (so that a reader can see the structure, e.g. a Slack export's users.json). In a folder,
    a `.frictionignore` file lists glob patterns (one a line, `dir/` for folders) of files that
    are not messages (a README, a roster); they are counted as ignored.
    """
    p = Path(path)
    if p.is_dir():
        patterns = _ignore_patterns(p)
        kept = []
        for src in _walk_dir(p):
            if (exclude and os.path.abspath(src.name) in exclude) or _ignored(src.rel, patterns):
                summary.skip(f"ignored ({IGNORE_FILE} or roster)", warn=False)
                continue
            kept.append(src)
        yield kept
    elif p.is_file() and zipfile.is_zipfile(p) and p.suffix.lower() not in (".docx", ".xlsx"):
        yield list(_walk_zip(p, str(p), summary))
    elif p.is_file():
        yield [_file_source(p, p.name, str(p))]
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


def _file_source(p: Path, rel: str, name: str) -> Source:
    return Source(name=name, rel=rel, opener=lambda: open(p, "rb"), size=p.stat().st_size)


def _walk_dir(root: Path) -> Iterator[Source]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if fn.startswith("."):
                continue
            fp = Path(dirpath) / fn
            if fp.is_symlink() or not fp.is_file():
                continue
            yield _file_source(fp, fp.relative_to(root).as_posix(), str(fp))


def _walk_zip(zpath: Path, label: str, summary: IngestSummary, data: bytes | None = None) -> Iterator[Source]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data) if data is not None else zpath)
    except (zipfile.BadZipFile, OSError) as exc:
        summary.skip("corrupt zip", label, detail=str(exc))
        return
    for info in sorted(zf.infolist(), key=lambda i: i.filename):
        if info.is_dir():
            continue
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
        if rel.suffix.lower() == ".zip":
            try:
                inner = zf.read(info)
            except Exception as exc:  # noqa: BLE001 - corrupt entry, count and go on
                summary.skip("corrupt zip entry", name, detail=str(exc))
                continue
            yield from _walk_zip(zpath, name, summary, data=inner)
            continue
        yield Source(name=name, rel=rel.as_posix(), opener=_zip_opener(zf, info), size=info.file_size)


def _zip_opener(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], BinaryIO]:
    return lambda: zf.open(info)
