"""The API's JSON: compact, money as numbers, UTF-8, and never a 500 for a string orjson refuses."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask import Flask, jsonify

from pizza42.json_provider import ApiJSONProvider, dumps_bytes


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.json = ApiJSONProvider(app)
    return app


def test_responses_are_compact_utf8_with_decimal_money_as_numbers(app):
    with app.app_context():
        response = jsonify({"total": Decimal("32.00"), "message": "2 × Margherita", "items": [1, True, None]})
    assert response.mimetype == "application/json"
    assert response.get_data() == '{"total":32.0,"message":"2 × Margherita","items":[1,true,null]}\n'.encode()


def test_a_lone_surrogate_is_written_as_an_escape_not_a_crash(app):
    odd = "pizza \ud83c"  # what json.loads makes of a client's "\\ud83c": valid JSON, not valid UTF-8
    with app.app_context():
        body = jsonify({"echo": odd}).get_data()
    assert json.loads(body) == {"echo": odd}
    assert dumps_bytes([odd]) == b'["pizza \\ud83c"]'


def test_options_from_flask_callers_still_work(app):
    with app.app_context():
        assert json.loads(app.json.dumps({"b": 1, "a": [Decimal("1.5")]}, indent=2)) == {"b": 1, "a": [1.5]}
        assert app.json.dumps({"a": Decimal("1.50")}) == '{"a":1.5}'


def test_what_json_cannot_carry_is_still_an_error(app):
    with pytest.raises(TypeError):
        dumps_bytes({"when": object()})
