"""The Auth0 Post-Login Action writes what its two readers read (spec §6), and the sandbox fakes it faithfully.

The readers: the app (`pizza42.claims`), and the legacy SPA's ID-token panel, whose reads are pinned in
deploy/auth0/legacy-spa-claims.json (the same file the Action's node tests check). The Action is
JavaScript, so these tests run it with `node` on a fake login.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from pizza42 import claims, sandbox
from pizza42.shop.access import ROLES_CLAIM, opens_analytics, opens_kitchen, roles_from_claims

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "deploy" / "auth0" / "post-login-action.js"
LEGACY_SPA = json.loads((ROOT / "deploy" / "auth0" / "legacy-spa-claims.json").read_text())
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not on PATH: the Auth0 Action (JavaScript) cannot run")

# Runs the Action once on a fake login and prints the claims set on each token as JSON.
RUN_ACTION = """
const action = require(process.argv[1]);
const user = JSON.parse(process.argv[2]);
const roles = JSON.parse(process.argv[3]);
const recorder = () => {
  const claims = {};
  return { claims, setCustomClaim: (name, value) => { claims[name] = value; } };
};
const api = { idToken: recorder(), accessToken: recorder() };
const event = {
  user,
  connection: { name: "Username-Password-Authentication", strategy: "auth0" },
  authentication: { methods: [{ name: "pwd", timestamp: "2026-01-01T00:00:00.000Z" }] },
  authorization: { roles },
  secrets: {},
};
action.onExecutePostLogin(event, api).then(() => {
  process.stdout.write(JSON.stringify({ id: api.idToken.claims, access: api.accessToken.claims }));
});
"""

# The Action's ID-token claims for a password login of `user` with `roles` at the instant `now` (short names).
BUILD_CLAIMS_AT = """
const action = require(process.argv[1]);
const [user, connection, now, roles] = [JSON.parse(process.argv[2]), process.argv[3], process.argv[4],
                                        JSON.parse(process.argv[5])];
const event = {
  user,
  connection: { name: connection, strategy: "auth0" },
  authentication: { methods: [{ name: "pwd", timestamp: now }] },
  authorization: { roles },
};
process.stdout.write(JSON.stringify({ ...action.buildClaims(event, new Date(now)),
                                      ...action.buildIdTokenClaims(event) }));
"""


def run_action(*, email_verified: bool, roles: list | None = None) -> dict:
    """The claims the Action sets for a database user with Auth0 `roles`, as {"id": {...}, "access": {...}}."""
    user = {
        "user_id": "auth0|42",
        "email": "customer@example.com",
        "email_verified": email_verified,
        "created_at": "2024-03-05T10:20:30.000Z",
    }
    result = subprocess.run(
        [NODE, "-e", RUN_ACTION, str(ACTION), json.dumps(user), json.dumps(roles or [])],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def build_claims_at(user: dict, connection: str, now: str, roles: list) -> dict:
    """The Action's ID-token claims, namespaced, for a password login with `roles` at a given instant."""
    result = subprocess.run([NODE, "-e", BUILD_CLAIMS_AT, str(ACTION), json.dumps(user), connection, now,
                             json.dumps(roles)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return {claims.NAMESPACE + name: value for name, value in json.loads(result.stdout).items()}


def _type_problem(where: str, value: object, spec: dict | str) -> str | None:
    kind = spec if isinstance(spec, str) else spec["type"]
    if kind == "date":
        # The SPA renders `new Date(value)`: an ISO 8601 string with a zone, as JavaScript reads it.
        try:
            ok = isinstance(value, str) and datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        except ValueError:
            ok = False
        return None if ok else f"{where}: not a date"
    if kind == "array":
        if not isinstance(value, list):
            return f"{where}: not an array"
        bad = [i for i, item in enumerate(value) if _type_problem("", item, spec["items"])]
        return f"{where}[{bad[0]}]: not a {spec['items']}" if bad else None
    python_type = {"object": dict, "string": str, "boolean": bool}[kind]
    return None if isinstance(value, python_type) else f"{where}: not a{'n' if kind == 'object' else ''} {kind}"


def legacy_spa_problems(token: dict, *, verified: bool) -> list[str]:
    """Every way a token's claims fail what the legacy SPA reads (legacy-spa-claims.json); empty is good."""
    problems = []
    ns = LEGACY_SPA["namespace"]
    for name, spec in LEGACY_SPA["reads"].items():
        needed = spec["required"] == "always" or (spec["required"] == "unverified" and not verified)
        if ns + name not in token:
            problems += [f"{name}: missing"] if needed else []
            continue
        problem = _type_problem(name, token[ns + name], spec)
        if problem is None:
            fields = spec.get("fields", {}).items()
            problems += [p for field, field_spec in fields
                         if (p := _type_problem(f"{name}.{field}", token[ns + name].get(field), field_spec))]
        else:
            problems.append(problem)
    absent = LEGACY_SPA["absent_by_design"]
    problems += [f"{name}: present, but must stay absent" for name in absent if ns + name in token]
    return problems


def expected_names(*, without: str, id_token: bool) -> set[str]:
    names = (*claims.CLAIM_NAMES, *(claims.ID_TOKEN_CLAIM_NAMES if id_token else ()))
    return {claims.NAMESPACE + name for name in names} - {claims.NAMESPACE + without}


def test_verified_customer_gets_every_claim_but_verification_required_and_can_order():
    tokens = run_action(email_verified=True)
    for kind, token in tokens.items():
        assert set(token) == expected_names(without="verification_required", id_token=kind == "id")
        assert claims.can_place_orders(token) is True
        assert claims.custom_claims(token)["customer_info"]["customer_since"] == "2024-03-05T10:20:30.000Z"


def test_unverified_customer_gets_every_claim_but_customer_info_and_cannot_order():
    tokens = run_action(email_verified=False)
    for kind, token in tokens.items():
        assert set(token) == expected_names(without="customer_info", id_token=kind == "id")
        assert claims.can_place_orders(token) is False
        assert token[claims.VERIFICATION_REQUIRED]["action"] == "verify_email"


@pytest.mark.parametrize(("roles", "kitchen", "analytics"), [
    ([], False, False), (["staff"], True, False), (["manager"], True, True), (["staff", "manager"], True, True),
    (["Staff", "cook"], False, False),
])
def test_the_roles_the_action_puts_in_the_id_token_open_the_shops_pages(roles, kitchen, analytics):
    tokens = run_action(email_verified=True, roles=roles)
    assert tokens["id"][ROLES_CLAIM] == roles
    read = roles_from_claims(tokens["id"])
    assert (opens_kitchen(read, "staff", "manager"), opens_analytics(read, "manager")) == (kitchen, analytics)
    # Not in the access token: the API decides by the permissions Auth0 RBAC puts there, never by roles.
    assert ROLES_CLAIM not in tokens["access"] and roles_from_claims(tokens["access"]) == ()


def test_the_action_claims_override_a_plain_email_verified():
    # The app trusts the Action's claim over a standard `email_verified` when both are present.
    token = run_action(email_verified=False)["access"] | {"email_verified": True}
    assert claims.can_place_orders(token) is False


@pytest.mark.parametrize("verified", [True, False], ids=["verified", "unverified"])
def test_the_legacy_spa_finds_every_claim_it_reads_in_the_action_s_id_token(verified):
    assert legacy_spa_problems(run_action(email_verified=verified)["id"], verified=verified) == []


def test_the_legacy_spa_check_catches_a_renamed_claim():
    token = run_action(email_verified=True)["id"]
    metadata = dict(token[claims.AUTH_METADATA])
    metadata["time"] = metadata.pop("login_time")
    assert legacy_spa_problems({**token, claims.AUTH_METADATA: metadata}, verified=True) == [
        "auth_metadata.login_time: not a date"]


def test_the_legacy_spa_names_are_claims_the_app_knows():
    """The app's claim list (pizza42/claims.json) covers everything the legacy SPA reads, under one namespace."""
    assert LEGACY_SPA["namespace"] == claims.NAMESPACE
    assert set(LEGACY_SPA["reads"]) <= set(claims.CLAIM_NAMES)
    assert not set(LEGACY_SPA["absent_by_design"]) & {*claims.CLAIM_NAMES, *claims.ID_TOKEN_CLAIM_NAMES}
    assert ROLES_CLAIM == claims.NAMESPACE + "roles" and claims.ID_TOKEN_CLAIM_NAMES == ("roles",)


@pytest.mark.parametrize("sub", sorted(sandbox.DEMO_USERS))
def test_the_sandbox_demo_customers_carry_exactly_what_the_action_writes(sub):
    """`make run`'s provider fakes the Action: same names, same values, for the same login at the same time."""
    demo = sandbox.DEMO_USERS[sub]
    namespaced = {name: value for name, value in demo.items() if name.startswith(claims.NAMESPACE)}
    auth = namespaced[claims.AUTH_METADATA]
    user = {"email": demo["email"], "email_verified": demo["email_verified"],
            "created_at": namespaced.get(claims.CUSTOMER_INFO, {}).get("customer_since", "2026-01-01T00:00:00Z")}
    roles = namespaced[ROLES_CLAIM]
    assert namespaced == build_claims_at(user, auth["connection"], auth["login_time"], roles)
    assert legacy_spa_problems(namespaced, verified=demo["email_verified"]) == []


def test_javascript_tests_of_the_action_pass():
    result = subprocess.run(
        [NODE, "--test", "deploy/auth0/"], cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
