"""Every route of the OpenAPI document, fed random path parameters, query values and JSON bodies
(hypothesis): no answer is a 5xx, and every error answer is the document's ``Error``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import needs_root
from tests.integration.daemon.conftest import Daemons, UnixHTTP, get

pytestmark = needs_root

JSON = st.recursive(st.none() | st.booleans() | st.integers(-10, 10**6) | st.floats(allow_nan=False)
                    | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                 max_size=4),
                    max_leaves=12)
NAMES = (st.sampled_from(["busybox", "no-such", "demo", "fz", "a/b", "..", "%", " ", "x" * 300])
         | st.text(min_size=1, max_size=20))


def _body(route_op: dict[str, Any], data: st.DataObject) -> bytes | None:
    if "requestBody" not in route_op:
        return None
    schema = route_op["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    if name == "ContainerRunRequest":
        return None if data.draw(st.booleans()) else json.dumps(data.draw(JSON)).encode()  # never run things
    if data.draw(st.booleans()):
        return json.dumps(data.draw(JSON)).encode()
    return data.draw(st.sampled_from([b"", b"{", b"[]", b"null", b'{"config": {}, "working_dir": "/w"}',
                                      b'{"services": ["x"], "wait": "yes"}', b'{"volumes": 1}',
                                      b'{"service": "x", "command": []}']))


def test_random_requests_get_no_5xx_and_errors_match_the_document(daemons: Daemons) -> None:
    from stackfile.daemon.models import Error

    d = daemons.start(daemons.unix())
    doc = json.loads(get("/v1/openapi.json", d.sock)[1])
    ops = [(path, method, op) for path, item in sorted(doc["paths"].items()) for method, op in item.items()
           if not (method == "post" and path == "/v1/containers")]  # creating containers: tested elsewhere

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data: st.DataObject) -> None:
        path, method, op = data.draw(st.sampled_from(ops))
        url = path
        query: dict[str, str] = {}
        for p in op.get("parameters", []):
            values = NAMES if p["in"] == "path" else (st.none() | st.text(max_size=8)
                                                      | st.sampled_from(["1", "0", "all", "5"]))
            value = data.draw(values)
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", quote(str(value), safe=""))
            elif value is not None and p["name"] not in ("follow",):  # a follow stream would wait forever
                query[p["name"]] = value
        if query:
            url += "?" + urlencode(query)
        if url.endswith("/wait") or "/wait?" in url:
            return  # waits for a container to stop: only for existing ones, which a fuzzer does not make
        body = _body(op, data)
        conn = UnixHTTP(d.sock)
        try:
            conn.request(method.upper(), url, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        assert resp.status < 500, (method, url, body, raw[:500])
        if resp.status >= 400:
            Error.model_validate_json(raw)
        else:
            assert str(resp.status) in op["responses"], (method, url, resp.status)

    for config in ({}, {"services": {"x": {"image": 3}}}, {"services": "x"}, {"name": "fz", "services": {}},
                   {"services": {"a": {"image": "busybox", "depends_on": ["b"]}}}):
        conn = UnixHTTP(d.sock)  # a project the fuzzer's ups and downs then meet too
        upload = json.dumps({"config": config, "working_dir": "/w"}).encode()
        conn.request("PUT", "/v1/projects/fz", body=upload, headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 204
        conn.close()
        for method, op in (("POST", "up"), ("GET", "ps"), ("POST", "down"), ("GET", "logs")):
            conn = UnixHTTP(d.sock)
            conn.request(method, f"/v1/projects/fz/{op}", body=b"{}" if method == "POST" else None)
            resp = conn.getresponse()
            raw = resp.read()
            conn.close()
            assert resp.status < 500, (config, op, raw[:500])
            for line in raw.splitlines():  # a stream's error line is an Error too
                item = json.loads(line) if line.startswith(b"{") else None
                if isinstance(item, dict) and item.get("kind") == "error":
                    Error.model_validate(item["error"])
    check()
    assert get("/v1/_ping", d.sock) == (200, b"OK")
