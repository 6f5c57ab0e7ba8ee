"""profiles: inactive services disappear, --profile / COMPOSE_PROFILES (also from .env) activate them."""

from __future__ import annotations

TEXT = """\
services:
  web: {image: web}
  debug: {image: dbg, profiles: [debug]}
  tools: {image: tools, profiles: [tools, debug]}
"""


def test_default_profile_only(load) -> None:
    assert sorted(load(TEXT).config["services"]) == ["web"]


def test_flag_activates(load) -> None:
    assert sorted(load(TEXT, profiles=["debug"]).config["services"]) == ["debug", "tools", "web"]


def test_star_activates_all(load) -> None:
    assert sorted(load(TEXT, profiles=["*"]).config["services"]) == ["debug", "tools", "web"]


def test_compose_profiles_from_dotenv(load) -> None:
    project = load(TEXT, extra={".env": "COMPOSE_PROFILES=tools\n"})
    assert sorted(project.config["services"]) == ["tools", "web"] and project.profiles == ["tools"]


def test_naming_a_service_enables_it_and_its_profiles(load) -> None:
    project = load(TEXT, services=["tools"])  # Compose's WithServicesEnabled: debug shares a profile
    assert sorted(project.config["services"]) == ["debug", "tools", "web"]
    assert project.profiles == ["debug", "tools"] and project.disabled_services == []


def test_disabled_services_are_remembered(load) -> None:
    project = load(TEXT)
    assert project.disabled_services == ["debug", "tools"]
    assert load(TEXT, services=["web", "nope"]).disabled_services == ["debug", "tools"]
