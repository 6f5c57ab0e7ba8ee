"""Resolve ``user``/``group`` strings against a container's /etc/passwd and /etc/group.

The files are read on the host side, from the container's upper dir and then its layers, top
first (or from ``/proc/<pid>/root`` of a running container), with every symlink resolved inside.
"""

from __future__ import annotations

from collections.abc import Sequence

from stackfile.errors import InvalidSpec
from stackfile.record import Record
from stackfile.runtime.linux.rootpath import Root

__all__ = ["Identity", "read_etc_file", "resolve_user"]


class Identity(Record):
    """Numeric ids, supplementary groups and home directory of the process user."""

    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str = "/"


def read_etc_file(roots: Sequence[str], name: str) -> str:
    """Content of ``etc/<name>`` from the first root (top first) that has it; "" if none.

    The path is resolved inside each root (:class:`~stackfile.runtime.linux.rootpath.Root`): an
    image or a running container cannot point ``/etc`` or the file at one of the host's."""
    for root in roots:
        try:
            with Root(root) as r:
                data = r.read(f"/etc/{name}")
        except FileNotFoundError:
            continue
        except OSError:
            return ""
        return data.decode("utf-8", "replace")
    return ""


def _table(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def _lookup_group(groups: list[list[str]], spec: str, user: str) -> int:
    if spec.isdigit():
        return int(spec)
    for row in groups:
        if len(row) >= 3 and row[0] == spec and row[2].isdigit():
            return int(row[2])
    raise InvalidSpec(f"unable to find group {spec!r} for user {user!r}: no matching entry in /etc/group",
                      hint="use a group that exists in the image, or a numeric gid")


def resolve_user(spec: str, passwd: str, group: str, extra_groups: Sequence[str] = ()) -> Identity:
    """``""``/``root``/``1000``/``app``/``app:staff``/``1000:50`` → ids, as Docker resolves them."""
    name, _, grp = (spec or "0").partition(":")
    users = _table(passwd)
    groups = _table(group)
    row = next((r for r in users if len(r) >= 4 and (r[0] == name or (name.isdigit() and r[2] == name))),
               None)
    if row is None and not name.isdigit():
        raise InvalidSpec(f"unable to find user {name!r}: no matching entries in /etc/passwd",
                          hint="use a user that exists in the image, or a numeric uid[:gid]")
    uid = int(name) if name.isdigit() or row is None else int(row[2])
    gid = int(row[3]) if row is not None and row[3].isdigit() else 0
    if grp:
        gid = _lookup_group(groups, grp, spec)
    home = row[5] if row is not None and len(row) >= 6 and row[5] else "/"
    user_name = row[0] if row is not None else ""
    member = {int(r[2]) for r in groups
              if len(r) >= 4 and r[2].isdigit() and user_name and user_name in r[3].split(",")}
    member |= {_lookup_group(groups, g, spec) for g in extra_groups}
    member.discard(gid)
    return Identity(uid, gid, (gid, *sorted(member)), home)
