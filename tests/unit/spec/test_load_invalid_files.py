"""Bad stack files, one per kind of mistake: each is ONE located StackfileError with a hint.

The project's own fixtures, written for these tests (they cover the kinds of invalid file that
Compose's own loader tests reject). Each names the file and line where the mistake is written,
the key path, and what would be valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from stackfile.errors import StackfileError
from stackfile.spec.loader import LoadOptions, load_project


class Case(NamedTuple):
    name: str
    files: dict[str, str]
    file: str  # where the error points
    line: int
    key: str | None  # the key path it names (a prefix), None for file-level errors
    words: list[str]  # what the message or the hint must say


CASES = [
    Case(
        'depends-on-cycle',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    depends_on: [b]\n'
                '  b:\n'
                '    image: x\n'
                '    depends_on: [c]\n'
                '  c:\n'
                '    image: x\n'
                '    depends_on: [a]\n'
            ),
        },
        'compose.yaml', 4, 'services.a.depends_on', ['a -> b -> c -> a'],
    ),
    Case(
        'depends-on-self',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    depends_on:\n'
                '      a: {condition: service_started}\n'
            ),
        },
        'compose.yaml', 4, 'services.a.depends_on', ['a -> a'],
    ),
    Case(
        'dotenv-invalid',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    env_file: app.env\n'
            ),
            'app.env': (
                'GOOD=1\n'
                'NOT VALID LINE=2\n'
            ),
        },
        'app.env', 2, None, ['key cannot contain a space'],
    ),
    Case(
        'empty-file',
        {
            'compose.yaml': '\n',
        },
        'compose.yaml', 1, None, ['empty'],
    ),
    Case(
        'include-cycle',
        {
            'compose.yaml': (
                'include:\n'
                '  - other.yaml\n'
                'services:\n'
                '  a: {image: x}\n'
            ),
            'other.yaml': (
                'include:\n'
                '  - compose.yaml\n'
                'services:\n'
                '  b: {image: x}\n'
            ),
        },
        'other.yaml', 1, 'include', ['include cycle'],
    ),
    Case(
        'bad-develop',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    develop:\n'
                '      watch:\n'
                '        - path: ./src\n'
                '          action: teleport\n'
            ),
        },
        'compose.yaml', 7, 'services.a.develop.watch[0].action', ['rebuild, sync, restart'],
    ),
    Case(
        'service-not-mapping',
        {
            'compose.yaml': (
                'services:\n'
                '  a: just-a-string\n'
            ),
        },
        'compose.yaml', 2, 'services.a', ['must be a mapping'],
    ),
    Case(
        'duplicate-key',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    command: one\n'
                '    command: two\n'
            ),
        },
        'compose.yaml', 5, 'services.a.command', ['already defined at line 4'],
    ),
    Case(
        'extends-missing',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    extends: {service: ghost}\n'
                '    image: x\n'
            ),
        },
        'compose.yaml', 3, 'services.a.extends.service', ["'ghost'", 'valid services: a'],
    ),
    Case(
        'env-object-value',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    environment:\n'
                '      FOO: {nested: 1}\n'
            ),
        },
        'compose.yaml', 5, 'services.a.environment.FOO', ['must be a'],
    ),
    Case(
        'env-list-value',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    environment:\n'
                '      - [FOO, 1]\n'
            ),
        },
        'compose.yaml', 5, 'services.a.environment[0]', ['must be a string'],
    ),
    Case(
        'external-driver-opts',
        {
            'compose.yaml': (
                'services:\n'
                '  a: {image: x}\n'
                'volumes:\n'
                '  data:\n'
                '    external: true\n'
                '    driver_opts: {type: tmpfs}\n'
            ),
        },
        'compose.yaml', 4, 'volumes.data', ['"external" and "driver_opts"'],
    ),
    Case(
        'external-driver',
        {
            'compose.yaml': (
                'services:\n'
                '  a: {image: x}\n'
                'networks:\n'
                '  n:\n'
                '    external: true\n'
                '    driver: bridge\n'
            ),
        },
        'compose.yaml', 4, 'networks.n', ['"external" and "driver"'],
    ),
    Case(
        'external-labels',
        {
            'compose.yaml': (
                'services:\n'
                '  a: {image: x}\n'
                'volumes:\n'
                '  data:\n'
                '    external: true\n'
                '    labels: {a: b}\n'
            ),
        },
        'compose.yaml', 4, 'volumes.data', ['"external" and "labels"'],
    ),
    Case(
        'project-name-type',
        {
            'compose.yaml': (
                'name: [not, a, name]\n'
                'services:\n'
                '  a: {image: x}\n'
            ),
        },
        'compose.yaml', 1, 'name', ['must be a string'],
    ),
    Case(
        'resource-bad',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    deploy:\n'
                '      resources:\n'
                '        limits:\n'
                '          memory: lots\n'
            ),
        },
        'compose.yaml', 7, 'services.a.deploy.resources.limits.memory', ["'lots'", '512m'],
    ),
    Case(
        'bind-empty-source',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    volumes:\n'
                '      - type: bind\n'
                "        source: ''\n"
                '        target: /data\n'
            ),
        },
        'compose.yaml', 6, 'services.a.volumes[0].source', ['source must not be empty'],
    ),
    Case(
        'network-external-name-and-name',
        {
            'compose.yaml': (
                'services:\n'
                '  a: {image: x}\n'
                'networks:\n'
                '  n:\n'
                '    name: one\n'
                '    external:\n'
                '      name: two\n'
            ),
        },
        'compose.yaml', 4, 'networks.n', ['external.name'],
    ),
    Case(
        'secret-external-name-and-name',
        {
            'compose.yaml': (
                'services:\n'
                '  a: {image: x}\n'
                'secrets:\n'
                '  s:\n'
                '    name: one\n'
                '    external:\n'
                '      name: two\n'
            ),
        },
        'compose.yaml', 4, 'secrets.s', ['external.name'],
    ),
    Case(
        'ssh-without-value',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    build:\n'
                '      context: .\n'
                '      ssh:\n'
            ),
        },
        'compose.yaml', 5, 'services.a.build.ssh', ['a list or a mapping'],
    ),
    Case(
        'tmpfs-extra-key',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    volumes:\n'
                '      - type: tmpfs\n'
                '        target: /t\n'
                '        tmpfs: {size: 1m, colour: red}\n'
            ),
        },
        'compose.yaml', 7, 'services.a.volumes[0].tmpfs', ["'colour'", 'mode, size'],
    ),
    Case(
        'tmpfs-negative-size',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    volumes:\n'
                '      - type: tmpfs\n'
                '        target: /t\n'
                '        tmpfs: {size: -1}\n'
            ),
        },
        'compose.yaml', 7, 'services.a.volumes[0].tmpfs.size', ['at least 0'],
    ),
    Case(
        'tmpfs-size-word',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    volumes:\n'
                '      - type: tmpfs\n'
                '        target: /t\n'
                '        tmpfs: {size: big}\n'
            ),
        },
        'compose.yaml', 7, 'services.a.volumes[0].tmpfs.size', ["'big'"],
    ),
    Case(
        'merge-key-scalar',
        {
            'compose.yaml': (
                'x-base: &base just-text\n'
                'services:\n'
                '  a:\n'
                '    <<: *base\n'
                '    image: x\n'
            ),
        },
        'compose.yaml', 1, 'services.a', ['map merge'],
    ),
    Case(
        'top-level-list',
        {
            'compose.yaml': (
                '- services\n'
                '- a\n'
            ),
        },
        'compose.yaml', 1, None, ['must be a mapping'],
    ),
    Case(
        'services-list',
        {
            'compose.yaml': (
                'services:\n'
                '  - a\n'
                '  - b\n'
            ),
        },
        'compose.yaml', 1, 'services', ['must be a mapping'],
    ),
    Case(
        'image-number',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: 42\n'
            ),
        },
        'compose.yaml', 3, 'services.a.image', ['must be a string'],
    ),
    Case(
        'non-string-key',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    labels:\n'
                '      1: one\n'
            ),
        },
        'compose.yaml', 5, 'services.a.labels', ['quote the key: "1"'],
    ),
    Case(
        'device-request-no-caps',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    deploy:\n'
                '      resources:\n'
                '        reservations:\n'
                '          devices:\n'
                '            - driver: nvidia\n'
                '              count: 1\n'
            ),
        },
        'compose.yaml', 8, 'services.a.deploy.resources.reservations.devices[0]', ["'capabilities'"],
    ),
    Case(
        'device-request-count-and-ids',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    deploy:\n'
                '      resources:\n'
                '        reservations:\n'
                '          devices:\n'
                '            - capabilities: [gpu]\n'
                '              count: 1\n'
                "              device_ids: ['0']\n"
            ),
        },
        'compose.yaml', 8, 'services.a.deploy.resources.reservations.devices[0]', ['exclusive'],
    ),
    Case(
        'device-request-count-word',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    deploy:\n'
                '      resources:\n'
                '        reservations:\n'
                '          devices:\n'
                '            - capabilities: [gpu]\n'
                '              count: several\n'
            ),
        },
        'compose.yaml', 9, 'services.a.deploy.resources.reservations.devices[0].count', ["'several'"],
    ),
    Case(
        'env-file-missing',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    env_file: [missing.env]\n'
            ),
        },
        'compose.yaml', 4, 'services.a.env_file', ['missing.env'],
    ),
    Case(
        'required-var-unset',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: ${IMAGE:?set IMAGE to the image to run}\n'
            ),
        },
        'compose.yaml', 3, 'services.a.image', ['IMAGE', 'set IMAGE to the image to run'],
    ),
    Case(
        'wrong-field',
        {
            'compose.yaml': (
                'services:\n'
                '  a:\n'
                '    image: x\n'
                '    restart_policy: always\n'
            ),
        },
        'compose.yaml', 4, 'services.a', ["'restart_policy'", "did you mean 'restart'?"],
    ),
    Case(
        'unknown-top-level',
        {
            'compose.yaml': (
                'services:\n'
                '  a: {image: x}\n'
                'service:\n'
                '  b: {image: x}\n'
            ),
        },
        'compose.yaml', 3, '(top', ["did you mean 'services'?"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_file_gives_one_located_error_with_a_hint(case: Case, tmp_path: Path) -> None:
    for name, text in case.files.items():
        (tmp_path / name).write_text(text)
    opts = LoadOptions(files=["compose.yaml"], project_name="t", cwd=str(tmp_path), environ={"HOME": "/tmp"})
    with pytest.raises(StackfileError) as exc:
        load_project(opts)
    err = exc.value
    rendered = err.render()
    assert err.location is not None and err.location.file, rendered
    assert Path(err.location.file).name == case.file, rendered
    assert err.location.line == case.line, rendered
    if case.key is not None:
        assert (err.location.key_path or "").startswith(case.key), rendered
    assert err.hint or "must be one of" in err.message, rendered
    for word in case.words:
        assert word in rendered, rendered
    assert "Traceback" not in rendered
