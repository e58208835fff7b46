// Tests of the Auth0 Post-Login Action: `node --test deploy/auth0/` (no npm packages needed).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const action = require("./post-login-action.js");

const NS = "https://pizza42.com/";
const CLAIMS_JSON = path.join(__dirname, "..", "..", "pizza42", "claims.json");
// What the legacy SPA reads from its ID token: shared with tests/test_auth0_action.py.
const LEGACY_SPA = JSON.parse(fs.readFileSync(path.join(__dirname, "legacy-spa-claims.json"), "utf8"));
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
function fakeEvent({ strategy = "auth0", connection = "Username-Password-Authentication", verified = true,
  roles = [] } = {}) {
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
    authentication: {
      methods: [{ name: strategy === "auth0" ? "pwd" : "federated", timestamp: "2026-01-01T00:00:00.000Z" }],
    },
    request: { ip: "203.0.113.7", user_agent: `Mozilla/5.0 ${SECRET}`, query: { id_token_hint: SECRET } },
    secrets: { ANYTHING: SECRET },
    transaction: { requested_scopes: ["openid"] },
    authorization: { roles },
    token: { iat: IAT },
  };
}

async function login(options) {
  const api = fakeApi();
  await action.onExecutePostLogin(fakeEvent(options), api);
  return { id: api.idToken.claims, access: api.accessToken.claims };
}

/** Where a value differs from a legacy-spa-claims.json type ("date": what `new Date(value)` reads). */
function typeProblem(where, value, spec) {
  const type = typeof spec === "string" ? spec : spec.type;
  if (type === "date") {
    // Exactly what the SPA renders: `new Date(value).toLocaleString()` must not be "Invalid Date".
    if (typeof value !== "string" || Number.isNaN(new Date(value).getTime())) return `${where}: not a date`;
    return null;
  }
  if (type === "array") {
    if (!Array.isArray(value)) return `${where}: not an array`;
    const bad = value.findIndex((item) => typeProblem("", item, spec.items) !== null);
    return bad === -1 ? null : `${where}[${bad}]: not a ${spec.items}`;
  }
  if (type === "object" && (value === null || typeof value !== "object" || Array.isArray(value))) {
    return `${where}: not an object`;
  }
  if (type !== "object" && typeof value !== type) return `${where}: not a ${type}`;
  return null;
}

/** Every way an ID token's claims fail what the legacy SPA reads (empty: the panel shows them all). */
function legacySpaProblems(claims, { verified }) {
  const problems = [];
  for (const [name, spec] of Object.entries(LEGACY_SPA.reads)) {
    const key = LEGACY_SPA.namespace + name;
    const needed = spec.required === "always" || (spec.required === "unverified" && !verified);
    if (!(key in claims)) {
      if (needed) problems.push(`${name}: missing`);
      continue;
    }
    const problem = typeProblem(name, claims[key], spec);
    if (problem) {
      problems.push(problem);
      continue;
    }
    for (const [field, fieldSpec] of Object.entries(spec.fields || {})) {
      const fieldProblem = typeProblem(`${name}.${field}`, claims[key][field], fieldSpec);
      if (fieldProblem) problems.push(fieldProblem);
    }
  }
  for (const name of Object.keys(LEGACY_SPA.absent_by_design)) {
    if (LEGACY_SPA.namespace + name in claims) problems.push(`${name}: present, but must stay absent`);
  }
  return problems;
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

test("token_verified_at and auth_metadata.login_time are the current time in ISO 8601", async () => {
  const before = Date.now();
  const { id } = await login();
  const after = Date.now();
  const at = id[NS + "token_verified_at"];
  assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(at) >= before && Date.parse(at) <= after);
  assert.equal(id[NS + "auth_metadata"].login_time, at);
  assert.deepEqual(Object.keys(id[NS + "auth_metadata"]).sort(), ["connection", "login_method", "login_time", "strategy"]);
});

const LOGINS = {
  "verified database user": { verified: true },
  "unverified database user": { verified: false },
  "Google user": { strategy: "google-oauth2", connection: "google-oauth2", verified: true },
  "passwordless user": { strategy: "email", connection: "email", verified: true },
};

for (const [who, options] of Object.entries(LOGINS)) {
  test(`the legacy SPA finds every claim it reads, in the shape it needs, for a ${who}`, async () => {
    const { id } = await login(options);
    assert.deepEqual(legacySpaProblems(id, { verified: options.verified }), []);
  });
}

test("a renamed or reshaped claim is caught by the legacy SPA check", async () => {
  const { id } = await login({ verified: false });
  const { login_time: loginTime, ...renamed } = id[NS + "auth_metadata"];
  const broken = { ...id, [NS + "auth_metadata"]: { ...renamed, time: loginTime } };
  assert.deepEqual(legacySpaProblems(broken, { verified: false }), ["auth_metadata.login_time: not a date"]);
  const reshaped = { ...id, [NS + "auth_warnings"]: "none" };
  delete reshaped[NS + "verification_required"];
  assert.deepEqual(legacySpaProblems(reshaped, { verified: false }),
    ["auth_warnings: not an array", "verification_required: missing"]);
  assert.deepEqual(legacySpaProblems({ ...id, [NS + "customer_profile"]: {} }, { verified: false }),
    ["customer_profile: present, but must stay absent"]);
});

test("session_security names the authentication methods and whether MFA was used", async () => {
  const api = fakeApi();
  const event = fakeEvent();
  event.authentication.methods = [{ name: "pwd" }, { name: "mfa" }, { name: "Not A Method!" }, {}, null];
  await action.onExecutePostLogin(event, api);
  assert.deepEqual(api.idToken.claims[NS + "session_security"], { authentication_methods: ["pwd", "mfa"], mfa: true });
  const { id } = await login({ strategy: "google-oauth2", connection: "google-oauth2" });
  assert.deepEqual(id[NS + "session_security"], { authentication_methods: ["federated"], mfa: false });
});

test("auth_warnings is empty for a verified login and explains an unverified email", async () => {
  assert.deepEqual((await login({ verified: true })).id[NS + "auth_warnings"], []);
  const warnings = (await login({ verified: false })).id[NS + "auth_warnings"];
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /not verified/);
});

test("CLAIMS and ID_TOKEN_CLAIMS equal the lists in pizza42/claims.json", () => {
  const spec = JSON.parse(fs.readFileSync(CLAIMS_JSON, "utf8"));
  assert.deepEqual([...action.CLAIMS], spec.claims);
  assert.deepEqual([...action.ID_TOKEN_CLAIMS], spec.id_token_claims);
  assert.equal(action.NAMESPACE, spec.namespace);
});

test("every claim written is a namespaced name from CLAIMS, or on the ID token from ID_TOKEN_CLAIMS", async () => {
  for (const verified of [true, false]) {
    const { id, access } = await login({ verified });
    // All of CLAIMS but the one that does not apply to this customer; the ID token has the roles too.
    const skipped = verified ? "verification_required" : "customer_info";
    const shared = action.CLAIMS.filter((n) => n !== skipped).map((n) => NS + n);
    assert.deepEqual(Object.keys(access).sort(), [...shared].sort());
    assert.deepEqual(Object.keys(id).sort(), [...shared, ...action.ID_TOKEN_CLAIMS.map((n) => NS + n)].sort());
  }
});

test("the ID token and the access token get identical claims, but for the roles", async () => {
  for (const options of [{ verified: true }, { verified: false }, { strategy: "google-oauth2", connection: "google-oauth2" },
    { roles: ["staff"] }]) {
    const { id, access } = await login(options);
    const { [NS + "roles"]: roles, ...rest } = id;
    assert.ok(Array.isArray(roles));
    assert.deepEqual(access, rest);
  }
});

test("the user's Auth0 roles go into the ID token as the roles claim, never into the access token", async () => {
  const { id, access } = await login({ roles: ["staff", "manager"] });
  assert.deepEqual(id[NS + "roles"], ["staff", "manager"]);
  assert.ok(!(NS + "roles" in access));
  assert.ok(!("roles" in access) && !("permissions" in access)); // Auth0 RBAC adds permissions, not the Action
});

test("a user without roles gets an empty roles claim", async () => {
  assert.deepEqual((await login({ roles: [] })).id[NS + "roles"], []);
  for (const authorization of [undefined, null, {}, { roles: null }, { roles: "staff" }]) {
    const api = fakeApi();
    const event = fakeEvent();
    event.authorization = authorization;
    await action.onExecutePostLogin(event, api);
    assert.deepEqual(api.idToken.claims[NS + "roles"], [], JSON.stringify(authorization));
  }
});

test("only role names are copied: strings, not empty, at most 20", async () => {
  const many = Array.from({ length: 30 }, (_, n) => `role-${n}`);
  const { id } = await login({ roles: ["staff", "", 7, null, { name: "manager" }, ...many] });
  assert.deepEqual(id[NS + "roles"], ["staff", ...many.slice(0, 19)]);
});

test("no claim carries secrets, identities, metadata or request data", async () => {
  for (const verified of [true, false]) {
    const { id } = await login({ verified });
    const text = JSON.stringify(id);
    assert.ok(!text.includes(SECRET), text);
    // Credential-shaped things: AWS key ids, JWTs, provider tokens, the client's IP address and browser.
    assert.doesNotMatch(text, /secret|access_token|refresh_token|AKIA[0-9A-Z]{16}|eyJ[\w-]+\.|203\.0\.113\.7|Mozilla/i);
  }
});
