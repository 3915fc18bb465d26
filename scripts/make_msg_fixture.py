"""Write a small, real Outlook .msg file (MS-OXMSG inside an MS-CFB v3 container).

We cannot ship or download sample .msg files, so this script builds one from scratch with
the standard library only: a minimal Compound File Binary writer (512-byte sectors, a mini
stream with its mini FAT for streams under 4096 bytes, a red-black directory tree per
storage) and the MS-OXMSG layout on top (property streams, UTF-16LE string streams, one
recipient storage and the named-property storage).

    python scripts/make_msg_fixture.py OUT.msg

writes the fictional message used by tests/fixtures/ingest/mail/renewal.msg (no real people).
"""

from __future__ import annotations

import struct
import sys
from datetime import datetime, timezone
from pathlib import Path

# --------------------------------------------------------------------------- MS-CFB writer

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
ENTRY_SIZE = 128

FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF

TYPE_STORAGE, TYPE_STREAM, TYPE_ROOT = 1, 2, 5
RED, BLACK = 0, 1


class Storage:
    """A CFB storage (folder): name -> Storage | bytes."""

    def __init__(self, name: str, clsid: bytes = b"\0" * 16):
        self.name = name
        self.clsid = clsid
        self.children: dict[str, Storage | bytes] = {}

    def add(self, name: str, item: "Storage | bytes") -> "Storage | bytes":
        if len(name) > 31:
            raise ValueError(f"CFB names are at most 31 characters: {name!r}")
        if name.upper() in {n.upper() for n in self.children}:
            raise ValueError(f"duplicate name in storage: {name!r}")
        self.children[name] = item
        return item


def _cfb_key(name: str) -> tuple[int, str]:
    """MS-CFB 2.6.4 ordering: shorter names first, then a per-character uppercase compare."""
    return (len(name.encode("utf-16-le")), name.upper())


class _Entry:
    def __init__(self, name: str, kind: int, clsid: bytes = b"\0" * 16):
        self.name, self.kind, self.clsid = name, kind, clsid
        self.left = self.right = self.child = NOSTREAM
        self.color = BLACK
        self.start = ENDOFCHAIN
        self.size = 0
        self.data = b""

    def pack(self) -> bytes:
        raw_name = (self.name + "\0").encode("utf-16-le")
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            raw_name, len(raw_name), self.kind, self.color,
            self.left, self.right, self.child, self.clsid,
            0, 0, 0,  # state bits, creation and modification time (zero is allowed)
            self.start, self.size,
        )


_UNUSED_ENTRY = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM,
                            b"\0" * 16, 0, 0, 0, 0, 0)


def _sibling_tree(entries: list[_Entry], ids: list[int], depth: int, max_depth: list[int]) -> int:
    """Balanced binary tree over sorted siblings; returns the root's directory id."""
    if not ids:
        return NOSTREAM
    mid = len(ids) // 2
    node = entries[ids[mid]]
    node.depth = depth  # type: ignore[attr-defined]
    max_depth[0] = max(max_depth[0], depth)
    node.left = _sibling_tree(entries, ids[:mid], depth + 1, max_depth)
    node.right = _sibling_tree(entries, ids[mid + 1:], depth + 1, max_depth)
    return ids[mid]


def _colour(entries: list[_Entry], ids: list[int], max_depth: int) -> None:
    """Middle-split trees have all leaves on the last two levels: the last level red, the rest
    black, gives equal black height on every path and no red node with a red child."""
    for i in ids:
        entries[i].color = RED if max_depth > 0 and entries[i].depth == max_depth else BLACK  # type: ignore[attr-defined]


def _flatten(root: Storage) -> list[_Entry]:
    entries = [_Entry("Root Entry", TYPE_ROOT, root.clsid)]

    def walk(storage: Storage, entry: _Entry) -> None:
        ids = []
        for name in sorted(storage.children, key=_cfb_key):
            item = storage.children[name]
            if isinstance(item, Storage):
                child = _Entry(name, TYPE_STORAGE, item.clsid)
            else:
                child = _Entry(name, TYPE_STREAM)
                child.data = bytes(item)
                child.size = len(child.data)
            entries.append(child)
            ids.append(len(entries) - 1)
        depth = [0]
        entry.child = _sibling_tree(entries, ids, 0, depth)
        _colour(entries, ids, depth[0])
        for i in ids:
            if entries[i].kind == TYPE_STORAGE:
                walk(storage.children[entries[i].name], entries[i])  # type: ignore[arg-type]

    walk(root, entries[0])
    return entries


def _chain(table: list[int], start: int, count: int) -> None:
    for k in range(count):
        table[start + k] = start + k + 1 if k < count - 1 else ENDOFCHAIN


def _sectors(n_bytes: int, size: int) -> int:
    return (n_bytes + size - 1) // size


def write_cfb(root: Storage) -> bytes:
    """Serialise a storage tree as a version-3 compound file."""
    entries = _flatten(root)

    # Mini stream: every stream under the cutoff, each starting on a 64-byte boundary.
    mini = bytearray()
    minifat: list[int] = []
    big: list[_Entry] = []
    for e in entries:
        if e.kind != TYPE_STREAM or e.size == 0:
            continue
        if e.size < MINI_CUTOFF:
            n = _sectors(e.size, MINI_SECTOR)
            e.start = len(minifat)
            minifat.extend([0] * n)
            _chain(minifat, e.start, n)
            mini += e.data + b"\0" * (n * MINI_SECTOR - e.size)
        else:
            big.append(e)

    dir_bytes = b"".join(e.pack() for e in entries)
    per_sector = SECTOR // ENTRY_SIZE
    dir_bytes += _UNUSED_ENTRY * (-len(entries) % per_sector)

    n_dir = _sectors(len(dir_bytes), SECTOR)
    n_minifat = _sectors(len(minifat) * 4, SECTOR)
    n_mini = _sectors(len(mini), SECTOR)
    n_big = sum(_sectors(e.size, SECTOR) for e in big)
    n_content = n_dir + n_minifat + n_mini + n_big

    n_fat = 1  # each FAT sector maps 128 sectors, itself included
    while n_fat * (SECTOR // 4) < n_fat + n_content:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("file too large for a header-only DIFAT")

    fat = [FREESECT] * (n_fat * (SECTOR // 4))
    body = bytearray()
    fat[:n_fat] = [FATSECT] * n_fat  # the FAT sectors come first, right after the header
    nxt = n_fat

    def place(data: bytes, n: int) -> int:
        nonlocal nxt
        if n == 0:
            return ENDOFCHAIN
        start = nxt
        _chain(fat, start, n)
        body.extend(data + b"\0" * (n * SECTOR - len(data)))
        nxt += n
        return start

    dir_start = nxt
    nxt += n_dir  # the directory is written last, once every start sector is known
    _chain(fat, dir_start, n_dir)
    dir_at = len(body)
    body.extend(b"\0" * (n_dir * SECTOR))

    minifat_bytes = struct.pack(f"<{len(minifat)}I", *minifat)
    minifat_bytes += struct.pack("<I", FREESECT) * (-len(minifat) % (SECTOR // 4))
    minifat_start = place(minifat_bytes, n_minifat)

    entries[0].start = place(bytes(mini), n_mini)
    entries[0].size = len(mini)  # root entry: size and start of the mini stream

    for e in big:
        e.start = place(e.data, _sectors(e.size, SECTOR))

    dir_bytes = b"".join(e.pack() for e in entries) + _UNUSED_ENTRY * (-len(entries) % per_sector)
    body[dir_at:dir_at + len(dir_bytes)] = dir_bytes

    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    difat = list(range(n_fat)) + [FREESECT] * (109 - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", b"\0" * 16,
        0x003E, 0x0003, 0xFFFE, 9, 6, b"\0" * 6,
        0,  # number of directory sectors: always 0 in version 3
        n_fat, dir_start,
        0,  # transaction signature
        MINI_CUTOFF,
        minifat_start if n_minifat else ENDOFCHAIN, n_minifat,
        ENDOFCHAIN, 0,  # no DIFAT sectors
    ) + struct.pack("<109I", *difat)
    assert len(header) == SECTOR
    return header + fat_bytes + bytes(body)


# --------------------------------------------------------------------------- MS-OXMSG layout

PT_LONG, PT_BOOLEAN, PT_SYSTIME, PT_UNICODE, PT_BINARY = 0x0003, 0x000B, 0x0040, 0x001F, 0x0102
PROPATTR = 0x00000006  # readable | writable

CLSID_MESSAGE = bytes.fromhex("0B0D020000000000C000000000000046")  # {00020D0B-...-46}: IPM message


def filetime(dt: datetime) -> int:
    epoch = datetime(1601, 1, 1, tzinfo=timezone.utc)
    delta = dt.astimezone(timezone.utc) - epoch
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


class PropertyBag:
    """One MS-OXMSG object: fixed-size values go inline in __properties_version1.0,
    variable-size ones (strings, binary) into __substg1.0_XXXXYYYY streams."""

    def __init__(self):
        self.fixed: list[tuple[int, int, bytes]] = []
        self.streams: dict[int, tuple[int, bytes]] = {}

    def long(self, pid: int, value: int) -> None:
        self.fixed.append((pid, PT_LONG, struct.pack("<I", value) + b"\0" * 4))

    def boolean(self, pid: int, value: bool) -> None:
        self.fixed.append((pid, PT_BOOLEAN, struct.pack("<H", int(value)) + b"\0" * 6))

    def time(self, pid: int, value: datetime) -> None:
        self.fixed.append((pid, PT_SYSTIME, struct.pack("<Q", filetime(value))))

    def text(self, pid: int, value: str) -> None:
        self.streams[pid] = (PT_UNICODE, value.encode("utf-16-le"))

    def binary(self, pid: int, value: bytes) -> None:
        self.streams[pid] = (PT_BINARY, value)

    def properties_stream(self, header: bytes) -> bytes:
        rows = list(self.fixed)
        for pid, (ptype, data) in self.streams.items():
            # Variable-size entries carry the size; strings count their terminating null.
            size = len(data) + (2 if ptype == PT_UNICODE else 0)
            rows.append((pid, ptype, struct.pack("<II", size, 0)))
        rows.sort(key=lambda r: (r[0], r[1]))
        return header + b"".join(struct.pack("<II", (pid << 16) | ptype, PROPATTR) + value
                                 for pid, ptype, value in rows)

    def fill(self, storage: Storage, header: bytes) -> None:
        storage.add("__properties_version1.0", self.properties_stream(header))
        for pid, (ptype, data) in self.streams.items():
            storage.add(f"__substg1.0_{pid:04X}{ptype:04X}", data)


def build_message(*, subject: str, body: str, sender_name: str, sender_email: str,
                  to: list[tuple[str, str]], cc: list[tuple[str, str]] = (), sent: datetime,
                  message_id: str, in_reply_to: str | None = None,
                  transport_headers: str | None = None) -> bytes:
    """An IPM.Note .msg file as bytes."""
    root = Storage("Root Entry", CLSID_MESSAGE)
    msg = PropertyBag()
    msg.text(0x001A, "IPM.Note")                     # PR_MESSAGE_CLASS
    msg.text(0x0037, subject)                        # PR_SUBJECT
    msg.text(0x0E1D, subject)                        # PR_NORMALIZED_SUBJECT
    msg.text(0x1000, body)                           # PR_BODY
    msg.text(0x0C1A, sender_name)                    # PR_SENDER_NAME
    msg.text(0x0C1E, "SMTP")                         # PR_SENDER_ADDRTYPE
    msg.text(0x0C1F, sender_email)                   # PR_SENDER_EMAIL_ADDRESS
    msg.text(0x5D01, sender_email)                   # PR_SENDER_SMTP_ADDRESS
    msg.text(0x0042, sender_name)                    # PR_SENT_REPRESENTING_NAME
    msg.text(0x0065, sender_email)                   # PR_SENT_REPRESENTING_EMAIL_ADDRESS
    msg.text(0x0E04, "; ".join(n for n, _ in to))    # PR_DISPLAY_TO (names only, as Outlook does)
    msg.text(0x0E03, "; ".join(n for n, _ in cc))    # PR_DISPLAY_CC
    msg.text(0x1035, message_id)                     # PR_INTERNET_MESSAGE_ID
    if in_reply_to:
        msg.text(0x1042, in_reply_to)                # PR_IN_REPLY_TO_ID
    if transport_headers:
        msg.text(0x007D, transport_headers)          # PR_TRANSPORT_MESSAGE_HEADERS
    msg.time(0x0039, sent)                           # PR_CLIENT_SUBMIT_TIME
    msg.time(0x0E06, sent)                           # PR_MESSAGE_DELIVERY_TIME
    msg.time(0x3007, sent)                           # PR_CREATION_TIME
    msg.time(0x3008, sent)                           # PR_LAST_MODIFICATION_TIME
    msg.long(0x0E07, 0x00000001)                     # PR_MESSAGE_FLAGS: read, not unsent
    msg.long(0x340D, 0x00040000)                     # PR_STORE_SUPPORT_MASK: STORE_UNICODE_OK
    msg.long(0x3FDE, 65001)                          # PR_INTERNET_CPID: UTF-8
    msg.boolean(0x0E1F, True)                        # PR_RTF_IN_SYNC

    recipients = [(n, a, 1) for n, a in to] + [(n, a, 2) for n, a in cc]  # MAPI_TO / MAPI_CC
    # Top-level header: 8 reserved, next recipient id, next attachment id,
    # recipient count, attachment count, 8 reserved.
    header = struct.pack("<8xIIII8x", len(recipients), 0, len(recipients), 0)
    msg.fill(root, header)

    for i, (name, addr, rtype) in enumerate(recipients):
        rs = root.add(f"__recip_version1.0_#{i:08X}", Storage(""))
        r = PropertyBag()
        r.long(0x3000, i)                            # PR_ROWID
        r.long(0x0C15, rtype)                        # PR_RECIPIENT_TYPE
        r.text(0x3001, name)                         # PR_DISPLAY_NAME
        r.text(0x3002, "SMTP")                       # PR_ADDRTYPE
        r.text(0x3003, addr)                         # PR_EMAIL_ADDRESS
        r.text(0x39FE, addr)                         # PR_SMTP_ADDRESS
        r.fill(rs, b"\0" * 8)  # type: ignore[arg-type]

    # Named property mapping storage (MUST exist; empty here: no named properties).
    named = root.add("__nameid_version1.0", Storage(""))
    for stream in ("__substg1.0_00020102", "__substg1.0_00030102", "__substg1.0_00040102"):
        named.add(stream, b"")  # type: ignore[union-attr]

    return write_cfb(root)


RENEWAL_BODY = (
    "Leo,\r\n\r\nThe renewal tickets sat for four days because nobody knew whether CS or product "
    "owned them.\r\n\r\nDana\r\n\r\n-----Original Message-----\r\nFrom: Leo Brandt\r\n"
    "Sent: Friday, March 8, 2024 5:00 PM\r\nTo: Dana Kim\r\nSubject: Renewal handoff\r\n\r\n"
    "Any update on the renewals?"
)


def renewal_message() -> bytes:
    """The fictional message behind tests/fixtures/ingest/mail/renewal.msg."""
    return build_message(
        subject="Renewal handoff",
        body=RENEWAL_BODY,
        sender_name="Dana Kim",
        sender_email="dana.kim@northwind.example",
        to=[("Leo Brandt", "leo.brandt@northwind.example")],
        sent=datetime(2024, 3, 11, 9, 30, tzinfo=timezone.utc),
        message_id="<msg-1@northwind.example>",
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUT.msg", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(renewal_message())
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
