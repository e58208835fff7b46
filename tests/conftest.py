"""Shared fixtures: the moto DynamoDB tables, the order store, and settings for an app under test."""

from __future__ import annotations

import os
import time

import boto3
import pytest
from moto import mock_aws

from pizza42 import create_app
from pizza42.orders.store import OrderStore
from pizza42.sessions.store import SessionStore

TABLE = "Pizza42-Orders"
SESSIONS_TABLE = "Pizza42-Sessions"

# moto and boto3 need credentials to sign with; these are fake and never leave the process.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def dynamodb():
    """A low-level DynamoDB client on moto's in-process mock, with the orders and sessions tables created."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        OrderStore(client, TABLE).create_table()
        SessionStore(client, SESSIONS_TABLE, idle_seconds=1800, lifetime_seconds=8 * 3600).create_table()
        yield client


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for a browser test module (Debian's, driven by Playwright; tests/browser.py)."""
    from tests.browser import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def store(dynamodb) -> OrderStore:
    """The order store on the moto table."""
    return OrderStore(dynamodb, TABLE)


@pytest.fixture
def app_dynamodb(dynamodb):
    """The DynamoDB client the app under test gets (a folder's conftest may wrap it)."""
    return dynamodb


@pytest.fixture
def app_clock():
    """The app's clock (a test module may replace it with one it moves by hand)."""
    return time.time


@pytest.fixture
def app(settings, app_dynamodb, app_clock):
    """The app under test on the moto tables, with the folder's `settings`."""
    app = create_app(settings, dynamodb_client=app_dynamodb, clock=app_clock)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    """A Flask test client (a browser without JavaScript, or an API caller)."""
    return app.test_client()
