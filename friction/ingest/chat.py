"""Chat exports: Slack workspace exports and Microsoft Teams (Graph chatMessage JSON)."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from typing import Iterator

from .html_text import html_to_text
from .encoding import decode_text
from .sources import Source
from .summary import IngestSummary

# Slack subtypes that are not something a person wrote to colleagues.
SLACK_SKIP_SUBTYPES = {
    "channel_join", "channel_leave", "group_join", "group_leave", "bot_message", "bot_add",
    "bot_remove", "channel_topic", "channel_purpose", "channel_name", "channel_archive",
    "channel_unarchive", "group_topic", "group_purpose", "group_name", "group_archive",
    "pinned_item", "unpinned_item", "reminder_add", "slackbot_response", "tombstone",
    "huddle_thread", "channel_convert_to_private", "channel_convert_to_public",
    "sh_room_created", "app_conversation_leave",
}
SLACK_DIR_FILES = {"users.json", "channels.json", "groups.json", "dms.json", "mpims.json"}

# A bracketed part never crosses another '<', so an unclosed "<@U1|" scans only to the next one
# (linear time on hostile text).
_USER = re.compile(r"<@([A-Z0-9]+)(?:\|([^<>]+))?>")
_CHAN = re.compile(r"<#[A-Z0-9]+\|([^<>]+)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^<>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^<>]+))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^<>|]+)(?:\|([^<>]+))?>")


def slack_roots(sources: list[Source]) -> set[str]:
    """Folders (relative, '' for the top) that hold a Slack export: users.json + channels.json."""
    dirs: dict[str, set[str]] = {}
    for s in sources:
        parent = "/".join(s.parts[:-1])
        dirs.setdefault(parent, set()).add(s.parts[-1])
    return {d for d, names in dirs.items() if {"users.json", "channels.json"} <= names}


def read_slack_export(root: str, sources: list[Source], summary: IngestSummary) -> Iterator[dict]:
    """Every channel-day file under one export root, mentions resolved with users.json."""
    prefix = f"{root}/" if root else ""
    mine = [s for s in sources if s.rel.startswith(prefix)]
    by_name = {s.rel[len(prefix):]: s for s in mine}
    users = _slack_users(by_name["users.json"], summary)
    for rel, src in sorted(by_name.items()):
        parts = rel.split("/")
        if len(parts) != 2 or not parts[1].endswith(".json"):
            if rel not in SLACK_DIR_FILES and not rel.endswith("/"):
                summary.skip("not part of a Slack export", src.name)
            continue
        summary.files += 1
        try:
            yield from read_slack_day(src, parts[0], users, summary)
        except Exception as exc:  # noqa: BLE001 - a corrupt entry (bad deflate, CRC) is one bad file
            summary.skip("unreadable slack file", src.name, detail=f"{exc.__class__.__name__}: {exc}")


def _slack_users(src: Source, summary: IngestSummary) -> dict[str, dict]:
    """users.json as {user id: {name, keys}}; a file of the wrong shape leaves mentions unresolved
    (one warning), a user entry of the wrong shape is counted and left out."""
    reason = "invalid users.json (mentions left unresolved)"
    try:
        doc = json.loads(decode_text(src.read_bytes()))
    except (ValueError, RecursionError) as exc:
        summary.skip(reason, src.name, detail=_json_error(exc))
        return {}
    except Exception as exc:  # noqa: BLE001 - unreadable entry
        summary.skip(reason, src.name, detail=f"{exc.__class__.__name__}: {exc}")
        return {}
    if not isinstance(doc, list):
        summary.skip(reason, src.name, detail=f"expected a list of users, found a JSON {type(doc).__name__}")
        return {}
    users: dict[str, dict] = {}
    for pos, u in enumerate(doc, start=1):
        prof = u.get("profile") if isinstance(u, dict) else None
        if not isinstance(u, dict) or not isinstance(u.get("id"), str) or not isinstance(prof or {}, dict):
            summary.skip("malformed Slack user (left unresolved)", f"{src.name} item {pos}")
            continue
        prof = prof or {}
        keys = [k for k in (prof.get("email"), u.get("name"), u.get("real_name"),
                            prof.get("display_name"), prof.get("real_name")) if k and isinstance(k, str)]
        names = [n for n in (prof.get("display_name"), prof.get("real_name"), u.get("real_name"), u.get("name"))
                 if n and isinstance(n, str)]
        users[u["id"]] = {"name": names[0] if names else u["id"], "keys": keys}
    return users


def _json_error(exc: Exception) -> str:
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def read_slack_day(src: Source, channel: str, users: dict, summary: IngestSummary) -> Iterator[dict]:
    """One channel-day JSON file: a list of message objects."""
    try:
        items = json.loads(decode_text(src.read_bytes()))
        if not isinstance(items, list):
            raise ValueError("expected a JSON list of messages")
    except (ValueError, RecursionError) as exc:
        summary.skip("invalid JSON", src.name, detail=_json_error(exc))
        return
    for pos, m in enumerate(items, start=1):
        summary.read += 1
        if not isinstance(m, dict) or "ts" not in m:
            summary.skip("malformed Slack message", f"{src.name} item {pos}")
            continue
        sub = m.get("subtype")
        if sub in SLACK_SKIP_SUBTYPES or (m.get("bot_id") and not m.get("user")) or m.get("type", "message") != "message":
            summary.skip(f"slack system message ({sub or 'bot'})", warn=False)
            continue
        try:
            yield _slack_row(m, channel, users, src.name, pos)
        except (TypeError, AttributeError, ValueError) as exc:
            summary.skip("malformed Slack message", f"{src.name} item {pos}", detail=f"{exc.__class__.__name__}: {exc}")


def _slack_row(m: dict, channel: str, users: dict, origin: str, pos: int) -> dict:
    """One Slack message object as a row; TypeError/AttributeError when a field has the wrong type.
    A `"text": null` (files-only messages) is empty text."""
    text = m.get("text") or ""
    if not isinstance(text, str):
        raise TypeError(f"'text' is a JSON {type(text).__name__}")
    uid = m.get("user") or ""
    user = users.get(uid, {})
    ts = str(m["ts"])
    thread_ts = str(m.get("thread_ts") or "")
    mentioned = [users.get(u, {}).get("name", n or u) for u, n in _USER.findall(text)]
    mid = f"slack:{channel}:{ts}"
    return {
        "id": mid,
        "source": "slack",
        "channel": "chat",
        "timestamp": _epoch(ts),
        "author": str(user.get("name") or m.get("user_name") or (m.get("user_profile") or {}).get("real_name") or uid),
        "_keys": user.get("keys", []) + [str(uid)],
        "recipients": "; ".join(dict.fromkeys(mentioned)),
        "thread_id": f"slack:{channel}:{thread_ts}" if thread_ts else mid,
        "reply_to": f"slack:{channel}:{thread_ts}" if thread_ts and thread_ts != ts else "",
        "subject": f"#{channel}",
        "text": slack_text(text, users),
        "origin_file": origin,
        "origin_pos": pos,
    }


def slack_text(text: str, users: dict) -> str:
    """Slack mrkdwn to plain text: mentions to @names, links to labels, entities decoded."""
    text = _USER.sub(lambda m: "@" + (users.get(m.group(1), {}).get("name") or m.group(2) or m.group(1)), text)
    text = _CHAN.sub(lambda m: "#" + m.group(1), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _SUBTEAM.sub(lambda m: "@" + (m.group(1) or "group").lstrip("@"), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return html.unescape(text).strip()


def _epoch(ts: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


def looks_like_slack_day(head: bytes) -> bool:
    h = head.lstrip()
    return h.startswith(b"[") and b'"ts"' in h and (b'"type"' in h or b'"user"' in h)


# ---------------------------------------------------------------- Microsoft Teams

def looks_like_teams(head: bytes) -> bool:
    return b'"value"' in head and (b"messageType" in head or b"chatMessage" in head or b'"body"' in head)


def read_teams(src: Source, summary: IngestSummary) -> Iterator[dict]:
    """A Microsoft Graph chatMessage collection: {"value": [chatMessage, ...]}."""
    try:
        doc = json.loads(decode_text(src.read_bytes()))
        items = doc["value"] if isinstance(doc, dict) else doc
        if not isinstance(items, list):
            raise ValueError("'value' is not a list")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        summary.skip("invalid Teams JSON", src.name, detail=_json_error(exc))
        return
    for pos, m in enumerate(items, start=1):
        summary.read += 1
        if not isinstance(m, dict) or "id" not in m:
            summary.skip("malformed Teams message", f"{src.name} item {pos}")
            continue
        mtype = m.get("messageType", "message")
        if mtype != "message":
            summary.skip(f"teams system message ({mtype})", warn=False)
            continue
        if m.get("deletedDateTime"):
            summary.skip("teams deleted message", warn=False)
            continue
        try:
            yield _teams_row(m, src.stem, src.name, pos)
        except (TypeError, AttributeError, ValueError) as exc:
            summary.skip("malformed Teams message", f"{src.name} item {pos}", detail=f"{exc.__class__.__name__}: {exc}")


def _obj(m: dict, key: str) -> dict:
    """m[key] when it is a JSON object (or absent/null); TypeError for any other type."""
    v = m.get(key) or {}
    if not isinstance(v, dict):
        raise TypeError(f"'{key}' is a JSON {type(v).__name__}, expected an object")
    return v


def _teams_row(m: dict, stem: str, origin: str, pos: int) -> dict:
    """One Graph chatMessage as a row; TypeError when a field has the wrong type."""
    body = _obj(m, "body")
    content = body.get("content") or ""
    if not isinstance(content, str):
        raise TypeError(f"'body.content' is a JSON {type(content).__name__}")
    html = str(body.get("contentType") or "html").lower() == "html"
    text = html_to_text(content, mention_tag="at") if html else content
    sender = _obj(_obj(m, "from"), "user")
    mentions = m.get("mentions") or []
    if not isinstance(mentions, list):
        raise TypeError(f"'mentions' is a JSON {type(mentions).__name__}, expected a list")
    mentioned = [_obj(_obj(x, "mentioned"), "user").get("displayName") or x.get("mentionText", "")
                 for x in mentions if isinstance(x, dict)]
    created = m.get("createdDateTime")
    mid = f"teams:{stem}:{m['id']}"
    parent = m.get("replyToId")
    return {
        "id": mid,
        "source": "teams",
        "channel": "chat",
        "timestamp": created if isinstance(created, (str, int, float)) or created is None else str(created),
        "author": str(sender.get("displayName") or sender.get("id", "")),
        "_keys": [str(k) for k in (sender.get("userPrincipalName"), sender.get("displayName"), sender.get("id")) if k],
        "recipients": "; ".join(dict.fromkeys(str(x) for x in mentioned if x)),
        "thread_id": f"teams:{stem}:{parent}" if parent else mid,
        "reply_to": f"teams:{stem}:{parent}" if parent else "",
        "subject": str(m.get("subject") or ""),
        "text": text,
        "origin_file": origin,
        "origin_pos": pos,
    }
