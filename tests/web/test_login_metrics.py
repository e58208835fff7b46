"""Logins move LoginsSucceeded or LoginsFailed on the callback's access line, through the real provider flow."""

from __future__ import annotations

import pytest

from tests.emf import json_lines, metric_documents, metric_values
from tests.web.conftest import UNVERIFIED, VERIFIED


@pytest.fixture
def callback_line(capsys):
    """The metric document of the last /callback request since the previous call (checked against EMF)."""
    def read() -> dict:
        lines = [line for line in metric_documents(json_lines(capsys.readouterr().out))
                 if line["path"] == "/callback"]
        assert len(lines) == 1, lines
        return lines[0]
    return read


@pytest.mark.parametrize("sub", [VERIFIED, UNVERIFIED])
def test_a_login_moves_logins_succeeded(auth, callback_line, sub):
    assert auth.login(sub).status_code == 302
    line = callback_line()
    assert metric_values(line)["LoginsSucceeded"] == 1 and "LoginsFailed" not in line
    for customer_data in (sub, "pizza42.test", "eyJ"):
        assert customer_data not in str(line)


def test_a_login_denied_at_the_provider_moves_logins_failed(client, auth, callback_line):
    assert client.get(auth.authorize(auth.start(), action="deny")).status_code == 400
    line = callback_line()
    assert metric_values(line)["LoginsFailed"] == 1 and "LoginsSucceeded" not in line


def test_a_replayed_callback_moves_logins_failed(client, auth, callback_line):
    callback = auth.authorize(auth.start())
    assert client.get(callback).status_code == 302
    assert metric_values(callback_line())["LoginsSucceeded"] == 1
    assert client.get(callback).status_code == 400  # the code and state were used up
    assert metric_values(callback_line())["LoginsFailed"] == 1
