"""Docker's config.json: auths entries, credsStore and credHelpers through a real helper program
speaking the docker-credential protocol, and what login/logout write."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from stackfile.errors import InvalidSpec, Unavailable
from stackfile.registry.credentials import Credential, erase, lookup, store

HELPER = """#!{python}
import json, os, sys
db = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helper-db.json")
data = json.load(open(db)) if os.path.exists(db) else {{}}
action, stdin = sys.argv[1], sys.stdin.read()
if action == "get":
    if stdin.strip() not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps(data[stdin.strip()]))
elif action == "store":
    doc = json.loads(stdin); data[doc["ServerURL"]] = {{"Username": doc["Username"], "Secret": doc["Secret"]}}
elif action == "erase":
    data.pop(stdin.strip(), None)
json.dump(data, open(db, "w"))
"""


@pytest.fixture()
def helper_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-testhelper"
    script.write_text(HELPER.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


def test_an_auths_entry_is_found_by_host_whatever_its_spelling(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    auth = base64.b64encode(b"bob:pw:with:colons").decode()
    path.write_text(json.dumps({"auths": {"https://reg.example:5000/v2/": {"auth": auth}}}))
    cred = lookup(str(path), "reg.example:5000")
    assert (cred.username, cred.password) == ("bob", "pw:with:colons")
    assert cred.source == f"{path} (auths.https://reg.example:5000/v2/)"
    assert lookup(str(path), "other.example").anonymous


def test_store_writes_docker_s_format_and_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "d" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"auths": {"https://reg.example/": {"auth": "eDp5"}}, "psFormat": "table"}))
    assert store(str(path), "reg.example", Credential("u", "p")) == str(path)
    doc = json.loads(path.read_text())
    assert doc == {"auths": {"reg.example": {"auth": base64.b64encode(b"u:p").decode()}}, "psFormat": "table"}
    assert path.stat().st_mode & 0o077 == 0
    assert erase(str(path), "reg.example") and json.loads(path.read_text())["auths"] == {}
    assert not erase(str(path), "reg.example")


def test_creds_store_and_cred_helpers_use_the_helper_program(tmp_path: Path, helper_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credHelpers": {"reg.example": "testhelper"}}))
    assert (
        store(str(path), "reg.example", Credential("carol", "secret"))
        == "credential helper docker-credential-testhelper"
    )
    assert "carol" not in path.read_text()  # the secret lives with the helper only
    cred = lookup(str(path), "reg.example")
    assert (cred.username, cred.password, cred.source) == (
        "carol",
        "secret",
        "credential helper docker-credential-testhelper",
    )
    assert lookup(str(path), "elsewhere.example").anonymous  # credHelpers is per registry
    path.write_text(json.dumps({"credsStore": "testhelper"}))
    store(str(path), "https://index.docker.io/v1/", Credential(identity_token="tok"))
    got = lookup(str(path), "https://index.docker.io/v1/")
    assert (got.identity_token, got.username) == ("tok", "")
    assert erase(str(path), "https://index.docker.io/v1/")
    assert lookup(str(path), "https://index.docker.io/v1/").anonymous


def test_a_missing_helper_and_a_broken_file_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "no-such-helper-here"}))
    with pytest.raises(Unavailable, match="docker-credential-no-such-helper-here is not installed"):
        lookup(str(path), "reg.example")
    path.write_text("{not json")
    with pytest.raises(InvalidSpec, match=str(path)):
        lookup(str(path), "reg.example")
    assert lookup(str(tmp_path / "absent.json"), "reg.example").anonymous
