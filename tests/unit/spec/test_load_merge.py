"""Multi-file merge rules (later files win), !reset / !override, and the merge tables."""

from __future__ import annotations

from stackfile.spec.merge import merge_all


def two(load, base: str, over: str) -> dict:
    return load(base, extra={"over.yaml": over}, files=["compose.yaml", "over.yaml"]).config


def test_scalars_replace_and_mappings_merge(load) -> None:
    config = two(
        load,
        "services:\n  a:\n    image: x\n    environment: {A: '1', B: '2'}\n",
        "services:\n  a:\n    image: y\n    environment: [B=3, C]\n",
    )
    assert config["services"]["a"]["image"] == "y"
    assert config["services"]["a"]["environment"] == {"A": "1", "B": "3", "C": None}


def test_command_is_replaced_not_appended(load) -> None:
    config = two(
        load, "services:\n  a:\n    image: x\n    command: [a, b]\n", "services:\n  a:\n    command: c d\n"
    )
    assert config["services"]["a"]["command"] == ["c", "d"]


def test_reset_removes_and_override_replaces(load) -> None:
    config = two(
        load,
        "services:\n  a:\n    image: x\n    ports: ['80:80']\n    labels: {a: '1', b: '2'}\n",
        "services:\n  a:\n    ports: !reset []\n    labels: !override {c: '3'}\n",
    )
    assert "ports" not in config["services"]["a"]
    assert config["services"]["a"]["labels"] == {"c": "3"}


def test_logging_options_merge_only_for_the_same_driver() -> None:
    base = {"services": {"a": {"logging": {"driver": "json-file", "options": {"max-size": "1m"}}}}}
    same = {"services": {"a": {"logging": {"options": {"max-file": "3"}}}}}
    other = {"services": {"a": {"logging": {"driver": "syslog", "options": {"tag": "x"}}}}}
    assert merge_all([base, same])["services"]["a"]["logging"]["options"] == {
        "max-size": "1m",
        "max-file": "3",
    }
    assert merge_all([base, other])["services"]["a"]["logging"] == {
        "driver": "syslog",
        "options": {"tag": "x"},
    }


def test_lists_append_and_unique_lists_deduplicate() -> None:
    merged = merge_all(
        [
            {"services": {"a": {"dns": ["1.1.1.1"], "cap_add": ["NET_ADMIN"]}}},
            {"services": {"a": {"dns": "8.8.8.8", "cap_add": ["NET_ADMIN", "SYS_TIME"]}}},
        ]
    )
    assert merged["services"]["a"]["dns"] == ["1.1.1.1", "8.8.8.8"]
    assert merged["services"]["a"]["cap_add"] == ["NET_ADMIN", "SYS_TIME"]


def test_extension_keys_are_replaced_whole() -> None:
    merged = merge_all([{"x-a": {"k": 1, "j": 2}}, {"x-a": {"k": 3}}])
    assert merged["x-a"] == {"k": 3}


def test_build_string_merges_with_mapping(load, project_dir) -> None:
    config = two(
        load, "services:\n  a:\n    build: ./app\n", "services:\n  a:\n    build: {args: {V: '1'}}\n"
    )
    assert config["services"]["a"]["build"] == {
        "context": str(project_dir / "app"),
        "dockerfile": "Dockerfile",
        "args": {"V": "1"},
    }


def test_environment_overlay_is_merged_after_files(load) -> None:
    text = """\
        services:
          web: {image: app, environment: {MODE: base}}
        environments:
          prod:
            services:
              web: {environment: {MODE: prod}, ports: ['80:80']}
        """
    assert load(text).config["services"]["web"]["environment"] == {"MODE": "base"}
    prod = load(text, environment_name="prod").config["services"]["web"]
    assert prod["environment"] == {"MODE": "prod"} and prod["ports"][0]["published"] == "80"


def test_environment_overlay_may_extend(load) -> None:
    text = """\
        services:
          base: {image: app, environment: {A: '1'}}
          web: {image: web}
        environments:
          dev:
            services:
              web: {extends: base}
        """
    web = load(text, environment_name="dev").config["services"]["web"]
    assert "extends" not in web and web["environment"] == {"A": "1"} and web["image"] == "web"
