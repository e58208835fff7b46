"""The app reads exactly the claims the Auth0 Post-Login Action writes (spec §6).

The Action is JavaScript, so these tests run it with `node` on a fake login and compare what it
writes with `pizza42.claims`, the app's side of the contract.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pizza42 import claims

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "deploy" / "auth0" / "post-login-action.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH: the Auth0 Action (JavaScript) cannot run")

# Runs the Action once on a fake login and prints the claims set on each token as JSON.
RUN_ACTION = """
const action = require(process.argv[1]);
const user = JSON.parse(process.argv[2]);
const recorder = () => {
  const claims = {};
  return { claims, setCustomClaim: (name, value) => { claims[name] = value; } };
};
const api = { idToken: recorder(), accessToken: recorder() };
const event = {
  user,
  connection: { name: "Username-Password-Authentication", strategy: "auth0" },
  secrets: {},
};
action.onExecutePostLogin(event, api).then(() => {
  process.stdout.write(JSON.stringify({ id: api.idToken.claims, access: api.accessToken.claims }));
});
"""


def run_action(*, email_verified: bool) -> dict:
    """The claims the Action sets for a database user, as {"id": {...}, "access": {...}}."""
    user = {
        "user_id": "auth0|42",
        "email": "customer@example.com",
        "email_verified": email_verified,
        "created_at": "2024-03-05T10:20:30.000Z",
    }
    result = subprocess.run(
        [NODE, "-e", RUN_ACTION, str(ACTION), json.dumps(user)],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def expected_names(*, without: str) -> set[str]:
    return {claims.NAMESPACE + name for name in claims.CLAIM_NAMES} - {claims.NAMESPACE + without}


def test_verified_customer_gets_every_claim_but_verification_required_and_can_order():
    tokens = run_action(email_verified=True)
    for token in (tokens["id"], tokens["access"]):
        assert set(token) == expected_names(without="verification_required")
        assert claims.can_place_orders(token) is True
        assert claims.custom_claims(token)["customer_info"]["customer_since"] == "2024-03-05T10:20:30.000Z"


def test_unverified_customer_gets_every_claim_but_customer_info_and_cannot_order():
    tokens = run_action(email_verified=False)
    for token in (tokens["id"], tokens["access"]):
        assert set(token) == expected_names(without="customer_info")
        assert claims.can_place_orders(token) is False
        assert token[claims.VERIFICATION_REQUIRED]["action"] == "verify_email"


def test_the_action_claims_override_a_plain_email_verified():
    # The app trusts the Action's claim over a standard `email_verified` when both are present.
    token = run_action(email_verified=False)["access"] | {"email_verified": True}
    assert claims.can_place_orders(token) is False


def test_javascript_tests_of_the_action_pass():
    result = subprocess.run(
        [NODE, "--test", "deploy/auth0/"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
