"""Settings for the pages' sessions: defaults, overrides, and one clear line for a bad value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pizza42.config import ConfigError, load_settings

REQUIRED = {"SECRET_KEY": "s" * 20, "AUTH0_DOMAIN": "tenant.us.auth0.com", "AUTH0_CLIENT_ID": "web",
            "AUTH0_CLIENT_SECRET": "secret"}
ROOT = Path(__file__).resolve().parent.parent


def test_sessions_default_to_their_own_table_30_idle_minutes_and_8_hours():
    settings = load_settings(REQUIRED)
    assert settings.sessions_table_name == "Pizza42-Sessions"
    assert (settings.session_idle_seconds, settings.session_lifetime_seconds) == (30 * 60, 8 * 3600)


def test_session_settings_can_be_changed():
    settings = load_settings({**REQUIRED, "DYNAMODB_SESSIONS_TABLE_NAME": "Shop-Sessions", "SESSION_IDLE_MINUTES": "15",
                              "SESSION_LIFETIME_HOURS": "12"})
    assert settings.sessions_table_name == "Shop-Sessions"
    assert (settings.session_idle_seconds, settings.session_lifetime_seconds) == (15 * 60, 12 * 3600)


@pytest.mark.parametrize("name, value", [("SESSION_IDLE_MINUTES", "0"), ("SESSION_IDLE_MINUTES", "half an hour"),
                                         ("SESSION_LIFETIME_HOURS", "-8"), ("SESSION_LIFETIME_HOURS", "1.5")])
def test_a_bad_timeout_stops_start_up_naming_it(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({**REQUIRED, name: value})


def test_the_sessions_table_cannot_be_the_orders_table():
    with pytest.raises(ConfigError, match="DYNAMODB_SESSIONS_TABLE_NAME"):
        load_settings({**REQUIRED, "DYNAMODB_TABLE_NAME": "Shop", "DYNAMODB_SESSIONS_TABLE_NAME": "Shop"})


def test_every_setting_the_app_reads_is_documented_in_the_env_example():
    read = set(re.findall(r'(?:env\.get|required|_number\(env,|_on_off\(env,)\(?\s*"([A-Z0-9_]+)"',
                          (ROOT / "pizza42" / "config.py").read_text()))
    example = (ROOT / "deploy" / "pizza42.env.example").read_text()
    documented = set(re.findall(r"^#?\s?([A-Z0-9_]+)=", example, re.M))
    assert "SESSION_IDLE_MINUTES" in read and read <= documented, read - documented


@pytest.mark.parametrize(("value", "direct"), [(None, True), ("", True), ("on", True), ("off", False), ("OFF", False)])
def test_the_direct_dynamodb_path_is_on_unless_turned_off(value, direct):
    env = REQUIRED if value is None else {**REQUIRED, "DYNAMODB_DIRECT_PATH": value}
    assert load_settings(env).dynamodb_direct_path is direct


@pytest.mark.parametrize("value", ["no", "false", "0", "of"])
def test_a_malformed_direct_path_setting_stops_start_up_naming_it(value):
    with pytest.raises(ConfigError, match=r"^DYNAMODB_DIRECT_PATH must be on or off, got '.*'$"):
        load_settings({**REQUIRED, "DYNAMODB_DIRECT_PATH": value})


def test_the_shop_defaults_to_utc_a_five_minute_cancel_window_and_the_staff_and_manager_roles():
    settings = load_settings(REQUIRED)
    assert (settings.shop_timezone, settings.cancel_window_seconds) == ("UTC", 300)
    assert (settings.staff_role, settings.manager_role) == ("staff", "manager")


def test_the_shop_settings_can_be_changed():
    settings = load_settings({**REQUIRED, "SHOP_TIMEZONE": "Europe/Rome", "CANCEL_WINDOW_MINUTES": "10",
                              "STAFF_ROLE": "cook", "MANAGER_ROLE": "owner"})
    assert (settings.shop_timezone, settings.cancel_window_seconds) == ("Europe/Rome", 600)
    assert (settings.staff_role, settings.manager_role) == ("cook", "owner")


@pytest.mark.parametrize("name, value", [("SHOP_TIMEZONE", "Mars/Olympus"), ("SHOP_TIMEZONE", "../etc/passwd"),
                                         ("CANCEL_WINDOW_MINUTES", "0"), ("CANCEL_WINDOW_MINUTES", "five")])
def test_a_bad_shop_setting_stops_start_up_naming_it(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({**REQUIRED, name: value})


def test_staff_and_managers_need_two_different_roles():
    with pytest.raises(ConfigError, match="STAFF_ROLE"):
        load_settings({**REQUIRED, "STAFF_ROLE": "crew", "MANAGER_ROLE": "crew"})
