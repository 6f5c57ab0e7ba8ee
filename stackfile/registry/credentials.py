"""Credentials in Docker's ``config.json`` format: ``auths``, ``credsStore`` and ``credHelpers``.

What ``docker login`` stored works here, and what ``stackfile login`` stores works for Docker: the
same file, the same keys (Docker Hub is ``https://index.docker.io/v1/``, others ``host[:port]``),
the same ``docker-credential-<helper>`` protocol (``get``/``store``/``erase`` over stdin/stdout).
Every credential carries where it came from, so an ``unauthorized`` error can say it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from stackfile.errors import InvalidSpec, Unavailable

__all__ = ["Credential", "erase", "lookup", "store"]


@dataclass(frozen=True)
class Credential:
    """``username``/``password``, or an OAuth2 ``identity_token``; ``source`` says where it came from."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    source: str = ""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.identity_token)


def _bare(key: str) -> str:
    """``https://host:5000/v2/`` → ``host:5000`` (Docker matches auths keys this way)."""
    text = key.split("://", 1)[-1]
    return text.split("/", 1)[0]


def _read(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InvalidSpec(
            f"cannot read the credentials file {path}: {exc}",
            hint="it must be Docker's config.json format (JSON with 'auths')",
        ) from None
    if not isinstance(doc, dict):
        raise InvalidSpec(f"{path} is not a JSON object", hint="Docker's config.json format")
    return doc


def _helper_for(doc: dict[str, Any], key: str) -> str:
    helpers = doc.get("credHelpers") or {}
    for name, helper in helpers.items():
        if _bare(name) == _bare(key) and isinstance(helper, str):
            return helper
    store_name = doc.get("credsStore")
    return store_name if isinstance(store_name, str) else ""


def _run_helper(helper: str, action: str, data: str) -> str:
    program = f"docker-credential-{helper}"
    try:
        proc = subprocess.run([program, action], input=data, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise Unavailable(
            f"credential helper {program} is not installed",
            hint="install it, or remove credsStore/credHelpers from config.json",
        ) from None
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip()
        if action == "get" and "credentials not found" in out.lower():
            return ""
        raise Unavailable(f"credential helper {program} {action} failed: {out}")
    return proc.stdout


def lookup(config_file: str | None, key: str) -> Credential:
    """The credential for the registry whose ``auths`` key is ``key`` (anonymous if none)."""
    doc = _read(config_file)
    helper = _helper_for(doc, key)
    if helper:
        out = _run_helper(helper, "get", key)
        if out.strip():
            got = json.loads(out)
            user, secret = got.get("Username", ""), got.get("Secret", "")
            source = f"credential helper docker-credential-{helper}"
            if user == "<token>":
                return Credential(identity_token=secret, source=source)
            return Credential(user, secret, source=source)
    for name, entry in (doc.get("auths") or {}).items():
        if _bare(name) != _bare(key) or not isinstance(entry, dict):
            continue
        source = f"{config_file} (auths.{name})"
        user, password = entry.get("username", ""), entry.get("password", "")
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise InvalidSpec(
                    f"{config_file}: auths.{name}.auth is not base64 of user:password"
                ) from None
        if user or entry.get("identitytoken"):
            return Credential(user, password, entry.get("identitytoken", ""), source)
    return Credential(source=f"no credentials for {key} in {config_file or 'any config.json'}")


def _write(path: str, doc: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent="\t")
        fh.write("\n")
    os.replace(tmp, path)


def store(config_file: str, key: str, cred: Credential) -> str:
    """Save ``cred`` for ``key`` as Docker does (its helper if one is configured); returns where."""
    doc = _read(config_file)
    helper = _helper_for(doc, key)
    if helper:
        user = "<token>" if cred.identity_token else cred.username
        secret = cred.identity_token or cred.password
        _run_helper(helper, "store", json.dumps({"ServerURL": key, "Username": user, "Secret": secret}))
        doc.setdefault("auths", {})[key] = {}
        _write(config_file, doc)
        return f"credential helper docker-credential-{helper}"
    entry: dict[str, str] = {"auth": base64.b64encode(f"{cred.username}:{cred.password}".encode()).decode()}
    if cred.identity_token:
        entry = {"identitytoken": cred.identity_token}
    auths = doc.setdefault("auths", {})
    for name in [n for n in auths if _bare(n) == _bare(key) and n != key]:
        del auths[name]
    auths[key] = entry
    _write(config_file, doc)
    return config_file


def erase(config_file: str, key: str) -> bool:
    """Forget the credential for ``key``; False when there was none."""
    doc = _read(config_file)
    helper = _helper_for(doc, key)
    found = False
    if helper:
        found = bool(_run_helper(helper, "get", key).strip())
        if found:
            _run_helper(helper, "erase", key)
    auths = doc.get("auths") or {}
    names = [n for n in auths if _bare(n) == _bare(key)]
    for name in names:
        found = found or bool(auths[name])
        del auths[name]
    if names:
        _write(config_file, doc)
    return found
