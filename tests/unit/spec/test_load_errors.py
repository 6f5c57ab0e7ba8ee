"""Every bad input is ONE StackfileError naming file:line:col, the key path and what is valid."""

from __future__ import annotations

import time

import pytest

from stackfile.errors import InvalidSpec, NotFound, StackfileError


def error_of(load, text: str, **kwargs) -> StackfileError:
    with pytest.raises(StackfileError) as exc:
        load(text, **kwargs)
    return exc.value


@pytest.mark.parametrize(
    ("text", "line", "col", "key", "words"),
    [
        ("services:\n  a:\n    image: x\n    restrat: always\n", 4, 5, "services.a", ["'restart'"]),
        ("services:\n  a:\n    image: [x, y]\n", 3, 5, "services.a.image", ["must be a string"]),
        (
            "services:\n  a:\n    image: x\n  a:\n    image: y\n",
            4,
            3,
            "services.a",
            ["already defined at line 2"],
        ),
        (
            "services:\n  a:\n    image: x\n    environment:\n      1: FOO\n",
            5,
            7,
            "services.a.environment",
            ["non-string key", "quote"],
        ),
        ("services:\n  a:\n    image: x\n    ports: ['99999:80']\n", 4, 5, "services.a.ports", ["0-65535"]),
        (
            "services:\n  a:\n    image: x\n    networks: [nope]\n",
            4,
            5,
            "services.a.networks.nope",
            ["undefined network nope"],
        ),
        (
            "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: y\n    depends_on: [a]\n",
            4,
            5,
            "services.a.depends_on",
            ["a -> b -> a"],
        ),
        (
            "services:\n  a:\n    image: x\n    healthcheck: {test: [CMD, 'true'], interval: 10 seconds}\n",
            4,
            40,
            "services.a.healthcheck.interval",
            ["invalid duration"],
        ),
        (
            "services:\n  a:\n    image: x\n    deploy:\n      restart_policy:\n        delay: later\n",
            6,
            9,
            "services.a.deploy.restart_policy.delay",
            ["invalid duration", "'later'"],
        ),
        (
            "services:\n  a:\n    image: x\n    restart: sometimes\n",
            4,
            5,
            "services.a.restart",
            ["on-failure:N"],
        ),
        (
            "services:\n  a:\n    image: x\n    ulimits: {nofile: {soft: 1}}\n",
            4,
            15,
            "services.a.ulimits.nofile",
            ["missing property 'hard'"],
        ),
        # values the schema lets through (they could come from interpolation) but the typed model
        # cannot convert: Compose rejects them too ("failed to cast to expected type")
        (
            "services:\n  a:\n    image: x\n    healthcheck:\n      retries: many\n",
            5,
            7,
            "services.a.healthcheck.retries",
            ["valid integer", "'many'"],
        ),
        (
            "services:\n  a:\n    image: x\n    ports:\n      - target: abc\n",
            5,
            9,
            "services.a.ports[0].target",
            ["valid integer", "'abc'"],
        ),
    ],
)
def test_located_errors(load, text: str, line: int, col: int, key: str, words: list[str]) -> None:
    err = error_of(load, text)
    assert isinstance(err, InvalidSpec)
    assert err.location is not None and err.location.file and err.location.file.endswith("compose.yaml")
    assert (err.location.line, err.location.column) == (line, col), err.render()
    assert err.location.key_path is not None and err.location.key_path.startswith(key), err.render()
    for word in words:
        assert word in err.render()


def test_every_schema_error_of_a_file_is_reported_at_once_in_file_order(load) -> None:
    text = ("services:\n  web:\n    image: x\n    ports: '80'\n    healthcheck: {interval: [1]}\n"
            "  db:\n    environment: 5\n    bogus: 1\n    image: [y]\nnetworks:\n  n: 4\n")
    err = error_of(load, text)
    found = [err, *err.also]
    assert [(e.location.line, e.location.key_path) for e in found if e.location] == [
        (4, "services.web.ports"), (5, "services.web.healthcheck.interval"), (7, "services.db.environment"),
        (8, "services.db"), (9, "services.db.image"), (11, "networks.n")]
    assert all(e.hint for e in found)
    shown = err.render()
    assert shown.count("\nerror: ") == 5 and shown.count("hint: ") == 6
    assert "'bogus' not allowed" in shown and "must be a list" in shown


def test_invalid_yaml_points_at_the_problem(load) -> None:
    err = error_of(load, "services:\n  a:\n    image: x\n   bad: [\n")
    assert err.location is not None and err.location.line is not None and "invalid YAML" in err.message


@pytest.mark.parametrize(("text", "gave_up", "began", "closer"), [
    ('services:\n  web:\n    image: x\n    command: ["sleep", "100"\n    environment:\n      A: "1"\n',
     (5, 5), "flow sequence that began at line 4, column 14", "close the [ of line 4 with ]"),
    ('services:\n  web:\n    image: "busybox\n    command: x\n  db:\n    image: y\n',
     (7, 1), "quoted scalar that began at line 3, column 12", 'close the " of line 3 with "'),
    ("services:\n  web: {image: x,\n    command: y\n  db:\n    image: y\n",
     (4, 5), "flow mapping that began at line 2, column 8", "close the { of line 2 with }"),
])
def test_invalid_yaml_names_where_the_unclosed_construct_began(load, text: str, gave_up: tuple[int, int],
                                                               began: str, closer: str) -> None:
    err = error_of(load, text)
    assert err.location is not None and (err.location.line, err.location.column) == gave_up
    assert began in err.message and err.hint is not None and err.hint.startswith(closer), err.render()


def test_empty_file(load) -> None:
    assert "empty" in error_of(load, "# nothing\n").message


def test_missing_file(load) -> None:
    assert isinstance(error_of(load, None, files=["nope.yaml"]), NotFound)


def test_merge_key_must_be_a_mapping(load) -> None:
    assert "map merge" in error_of(load, "x: &s scalar\nservices:\n  a:\n    <<: *s\n").message


def test_unknown_environment_lists_valid_ones(load) -> None:
    err = error_of(
        load, "services:\n  a: {image: x}\nenvironments:\n  dev: {}\n  prod: {}\n", environment_name="qa"
    )
    assert "dev, prod" in (err.hint or "")


def test_alias_bomb_fails_fast(load) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("services: {s: {image: x, labels: {k: *j}}}")
    start = time.perf_counter()
    err = error_of(load, "\n".join(lines) + "\n")
    # Not a speed check: expanded, the bomb is 9**10 (3.5e9) strings, hours of work or out of
    # memory; refused, it takes milliseconds. 20 s is beyond any loaded machine's noise.
    assert time.perf_counter() - start < 20.0
    assert "alias" in err.render()


@pytest.mark.parametrize(
    "text",
    [
        "services: " + "[" * 50000 + "]" * 50000 + "\n",
        "x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
        "services:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 400)),
    ],
    ids=["flow-sequences", "flow-mappings", "block-mappings"],
)
def test_deep_nesting_fails_fast(load, text: str) -> None:
    start = time.perf_counter()
    err = error_of(load, text)
    # Not a speed check: it catches a hang (the input refused only after walking 50,000 levels, or
    # not at all); refused at the depth limit it takes milliseconds, so a working guard cannot miss
    # 20 s whatever the load. The message check below is the real assertion.
    assert time.perf_counter() - start < 20.0
    assert "nested deeper" in err.message


def test_selected_environment_overlay_is_schema_checked(load) -> None:
    text = "services:\n  web: {image: x}\nenvironments:\n  prod:\n    services:\n      web: {prots: ['80']}\n"
    err = error_of(load, text, environment_name="prod")
    assert err.location is not None and err.location.line == 6
    assert "environments.prod.services.web" in err.render() and "'ports'" in err.render()


def test_image_recipe_cycle_is_named(load) -> None:
    text = """\
services:
  web: {image: a}
images:
  a: {from: b, steps: [{run: 'true'}]}
  b: {from: busybox, steps: [{copy: /x, to: /x, from: a}]}
"""
    err = error_of(load, text)
    assert "image cycle detected: a -> b -> a" in err.message
    assert err.location is not None and err.location.line == 4


def test_an_error_raised_after_loading_is_located_in_the_project_loaded_last(load, project_dir) -> None:
    """Errors from later stages (a build context that is missing, a port taken) know only their key
    path; ``locate`` gives them the line where that key, or its nearest written parent, is."""
    from stackfile.errors import Location
    from stackfile.spec.loader import locate

    load("services:\n  web:\n    image: x\n    build: ./nowhere\n    ports: ['8080:80']\n")
    late = locate(InvalidSpec("taken", location=Location(key_path="services.web.ports")))
    assert late.location is not None and (late.location.line, late.location.column) == (5, 5)
    short = locate(InvalidSpec("missing", location=Location(key_path="services.web.build.context")))
    assert short.location is not None and short.location.line == 4  # `build: ./nowhere` is short syntax
    assert str(project_dir / "compose.yaml") in short.render()
    unknown = locate(InvalidSpec("elsewhere", location=Location(key_path="volumes.data")))
    assert unknown.location is not None and unknown.location.line is None
