// Tests of the Auth0 Post-Login Action: `node --test deploy/auth0/` (no npm packages needed).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const action = require("./post-login-action.js");

const NS = "https://pizza42.com/";
const CLAIMS_JSON = path.join(__dirname, "..", "..", "pizza42", "claims.json");
const SECRET = "s3cr3t-value-that-must-never-leak";
const CREATED_AT = "2024-03-05T10:20:30.000Z";
// A token `iat` far from CREATED_AT, so a customer_since taken from it would be noticed.
const IAT = 1767225600; // 2026-01-01T00:00:00Z

/** A fake `api` recording every custom claim set on each token. */
function fakeApi() {
  const recorder = () => {
    const claims = {};
    return { claims, setCustomClaim: (name, value) => { claims[name] = value; } };
  };
  return { idToken: recorder(), accessToken: recorder() };
}

/** A fake Post-Login `event`, carrying things the Action must not copy into tokens. */
function fakeEvent({ strategy = "auth0", connection = "Username-Password-Authentication", verified = true } = {}) {
  return {
    user: {
      user_id: `${strategy}|123`,
      email: "customer@example.com",
      email_verified: verified,
      created_at: CREATED_AT,
      identities: [{ provider: strategy, access_token: SECRET, refresh_token: SECRET }],
      app_metadata: { internal_note: SECRET },
      user_metadata: { note: SECRET },
    },
    connection: { id: "con_1", name: connection, strategy },
    authentication: { methods: [{ name: "pwd", timestamp: "2026-01-01T00:00:00.000Z" }] },
    request: { ip: "203.0.113.7", query: { id_token_hint: SECRET } },
    secrets: { ANYTHING: SECRET },
    transaction: { requested_scopes: ["openid"] },
    token: { iat: IAT },
  };
}

async function login(options) {
  const api = fakeApi();
  await action.onExecutePostLogin(fakeEvent(options), api);
  return { id: api.idToken.claims, access: api.accessToken.claims };
}

test("a verified database user can order and gets customer_info", async () => {
  const { id } = await login({ verified: true });
  assert.equal(id[NS + "email"], "customer@example.com");
  assert.equal(id[NS + "email_verified"], true);
  assert.equal(id[NS + "can_place_orders"], true);
  assert.deepEqual(id[NS + "customer_info"], { customer_since: CREATED_AT, data_source: "dynamodb" });
  assert.equal(id[NS + "auth_metadata"].login_method, "database");
  assert.equal(id[NS + "auth_metadata"].connection, "Username-Password-Authentication");
  assert.equal(id[NS + "auth_metadata"].strategy, "auth0");
  assert.ok(!(NS + "verification_required" in id));
});

test("an unverified user cannot order on either token and is told to verify", async () => {
  const tokens = await login({ verified: false });
  for (const claims of [tokens.id, tokens.access]) {
    assert.equal(claims[NS + "can_place_orders"], false);
    assert.equal(claims[NS + "email_verified"], false);
    assert.equal(claims[NS + "verification_required"].action, "verify_email");
    assert.match(claims[NS + "verification_required"].message, /verify/i);
    assert.ok(!(NS + "customer_info" in claims));
  }
});

test("a missing email_verified counts as not verified", async () => {
  const api = fakeApi();
  const event = fakeEvent();
  delete event.user.email_verified;
  await action.onExecutePostLogin(event, api);
  assert.equal(api.idToken.claims[NS + "can_place_orders"], false);
});

test("a Google login is reported as social through google-oauth2", async () => {
  // Auth0 marks Google accounts' emails verified, so Google customers can order at once.
  const { id, access } = await login({ strategy: "google-oauth2", connection: "google-oauth2", verified: true });
  for (const claims of [id, access]) {
    assert.equal(claims[NS + "auth_metadata"].login_method, "social");
    assert.equal(claims[NS + "auth_metadata"].connection, "google-oauth2");
    assert.equal(claims[NS + "can_place_orders"], true);
  }
});

test("passwordless logins are reported as passwordless", async () => {
  for (const strategy of ["email", "sms"]) {
    const { id } = await login({ strategy, connection: strategy });
    assert.equal(id[NS + "auth_metadata"].login_method, "passwordless");
  }
});

test("customer_since is the account's created_at, not the token's iat", async () => {
  const { id } = await login();
  const since = id[NS + "customer_info"].customer_since;
  assert.equal(since, CREATED_AT);
  assert.notEqual(since, new Date(IAT * 1000).toISOString());
});

test("token_verified_at and auth_metadata.time are the current time in ISO 8601", async () => {
  const before = Date.now();
  const { id } = await login();
  const after = Date.now();
  const at = id[NS + "token_verified_at"];
  assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(at) >= before && Date.parse(at) <= after);
  assert.equal(id[NS + "auth_metadata"].time, at);
});

test("CLAIMS equals the list in pizza42/claims.json", () => {
  const spec = JSON.parse(fs.readFileSync(CLAIMS_JSON, "utf8"));
  assert.deepEqual([...action.CLAIMS], spec.claims);
  assert.equal(action.NAMESPACE, spec.namespace);
});

test("every claim written is a namespaced name from CLAIMS", async () => {
  for (const verified of [true, false]) {
    const { id } = await login({ verified });
    const names = Object.keys(id);
    assert.ok(names.length > 0);
    for (const name of names) {
      assert.ok(name.startsWith(NS), name);
      assert.ok(action.CLAIMS.includes(name.slice(NS.length)), name);
    }
    // All of CLAIMS but the one that does not apply to this customer.
    const skipped = verified ? "verification_required" : "customer_info";
    assert.deepEqual(names.sort(), action.CLAIMS.filter((n) => n !== skipped).map((n) => NS + n).sort());
  }
});

test("the ID token and the access token get identical claims", async () => {
  for (const options of [{ verified: true }, { verified: false }, { strategy: "google-oauth2", connection: "google-oauth2" }]) {
    const { id, access } = await login(options);
    assert.deepEqual(access, id);
  }
});

test("no claim carries secrets, identities, metadata or request data", async () => {
  for (const verified of [true, false]) {
    const { id } = await login({ verified });
    const text = JSON.stringify(id);
    assert.ok(!text.includes(SECRET), text);
    // Credential-shaped things: AWS key ids, JWTs, provider tokens, the client's IP address.
    assert.doesNotMatch(text, /secret|access_token|refresh_token|AKIA[0-9A-Z]{16}|eyJ[\w-]+\.|203\.0\.113\.7/i);
  }
});
