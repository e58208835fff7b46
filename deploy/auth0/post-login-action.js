/**
 * Pizza 42 — Auth0 Post-Login Action (spec §6).
 *
 * Adds the `https://pizza42.com/` custom claims to the ID token and the access token, and the user's Auth0
 * roles (`roles`) to the ID token only. Two readers:
 * - the Flask app (pizza42/claims.py); the claim names are listed once in pizza42/claims.json.
 *   Auth0 needs an Action to be one self-contained file, so the list is repeated below as CLAIMS,
 *   and the tests check that the two lists are equal and that this Action writes only those names;
 * - the legacy React SPA's ID-token panel, which reads these claims under these exact names
 *   (auth_metadata.login_time, session_security, auth_warnings, ...): legacy-spa-claims.json beside
 *   this file pins what it reads, and both test suites (post-login-action.test.js and
 *   tests/test_auth0_action.py) check every login against it.
 *
 * The Action needs no secrets, no AWS credentials and no network access: orders live in DynamoDB
 * and are read by the app, never here.
 *
 * Roles open the shop's pages (the kitchen to `staff` and `manager`, the analytics to `manager`), which read
 * the ID token the login gave them. The API never reads roles: Auth0 RBAC puts the `permissions` of those
 * roles in the access token itself ("Add Permissions in the Access Token"), so roles stay out of it.
 */

const NAMESPACE = "https://pizza42.com/";

// Keep equal to the "claims" list of pizza42/claims.json (checked by the tests).
const CLAIMS = Object.freeze([
  "email",
  "email_verified",
  "can_place_orders",
  "token_verified_at",
  "auth_metadata",
  "session_security",
  "auth_warnings",
  "customer_info",
  "verification_required",
]);

// Keep equal to the "id_token_claims" list of pizza42/claims.json (checked by the tests).
const ID_TOKEN_CLAIMS = Object.freeze(["roles"]);
const MAX_ROLES = 20;

/** How the customer logged in, from the connection's strategy. */
function loginMethod(strategy) {
  if (strategy === "auth0") return "database";
  if (strategy === "email" || strategy === "sms") return "passwordless";
  // Pizza 42 has no enterprise connections, so every other strategy is a social provider.
  return "social";
}

/** The customer's sign-up time as ISO 8601, or null when Auth0 did not give a usable one. */
function customerSince(user) {
  // The account's creation time, not the token's `iat`: the original system used `iat`, which
  // made every customer look brand new on every login.
  const created = user && user.created_at ? new Date(user.created_at) : null;
  return created && !Number.isNaN(created.getTime()) ? created.toISOString() : null;
}

// Auth0's names for authentication methods ("pwd", "federated", "mfa", ...): copied only when they
// look like one, so nothing else from the event can ride along.
const METHOD_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** How this login was authenticated: the method names Auth0 recorded, and whether MFA was one. */
function sessionSecurity(authentication) {
  const recorded = authentication && Array.isArray(authentication.methods) ? authentication.methods : [];
  const methods = recorded
    .map((method) => (method && typeof method.name === "string" ? method.name : null))
    .filter((name) => name !== null && METHOD_NAME.test(name))
    .slice(0, 8);
  return { authentication_methods: methods, mfa: methods.includes("mfa") };
}

/** What the customer (or the legacy SPA's panel) should know about this login; empty when all is well. */
function authWarnings(emailVerified, connection) {
  const warnings = [];
  if (!emailVerified) warnings.push("Email address not verified: ordering is disabled until it is.");
  if (!connection.name) warnings.push("The login connection is unknown.");
  return warnings;
}

/**
 * The custom claims for one login, keyed by their short name (without the namespace).
 * Only plain values picked from `event.user` / `event.connection` / `event.authentication` are
 * copied: never `event.secrets`, `event.request` (IP address, user agent), identities, or
 * user/app metadata.
 */
function buildClaims(event, now = new Date()) {
  const user = event.user || {};
  const connection = event.connection || {};
  const time = now.toISOString();
  // Strictly `true`: a missing or odd value must not let anyone order.
  const emailVerified = user.email_verified === true;

  const claims = {
    email: typeof user.email === "string" ? user.email : null,
    email_verified: emailVerified,
    can_place_orders: emailVerified,
    token_verified_at: time,
    auth_metadata: {
      login_method: loginMethod(connection.strategy),
      connection: connection.name || null,
      strategy: connection.strategy || null,
      // `login_time`: the name the legacy SPA reads (`time` before; the app still accepts it).
      login_time: time,
    },
    session_security: sessionSecurity(event.authentication),
    auth_warnings: authWarnings(emailVerified, connection),
  };
  if (emailVerified) {
    claims.customer_info = { customer_since: customerSince(user), data_source: "dynamodb" };
  } else {
    claims.verification_required = {
      message: "Please verify your email address before placing orders.",
      action: "verify_email",
    };
  }
  return claims;
}

/** The user's Auth0 role names (`event.authorization.roles`): non-empty strings, at most MAX_ROLES; [] when none. */
function roleNames(authorization) {
  const roles = authorization && Array.isArray(authorization.roles) ? authorization.roles : [];
  return roles.filter((role) => typeof role === "string" && role.length > 0).slice(0, MAX_ROLES);
}

/** The claims for the ID token only, keyed by their short name: the user's roles, for the shop's pages. */
function buildIdTokenClaims(event) {
  return { roles: roleNames(event.authorization) };
}

exports.onExecutePostLogin = async (event, api) => {
  const claims = buildClaims(event);
  for (const [name, value] of Object.entries(claims)) {
    // A name outside CLAIMS would be a claim the app does not know about: fail loudly in tests.
    if (!CLAIMS.includes(name)) throw new Error(`claim ${name} is not in CLAIMS`);
    api.idToken.setCustomClaim(NAMESPACE + name, value);
    api.accessToken.setCustomClaim(NAMESPACE + name, value);
  }
  for (const [name, value] of Object.entries(buildIdTokenClaims(event))) {
    if (!ID_TOKEN_CLAIMS.includes(name)) throw new Error(`claim ${name} is not in ID_TOKEN_CLAIMS`);
    api.idToken.setCustomClaim(NAMESPACE + name, value);
  }
};

// For the tests only. Auth0 calls just the `onExecute*` / `onContinue*` handlers, so these extra
// exports are inert there; the guard keeps the file loadable where `module` does not exist.
if (typeof module === "object" && module && module.exports) {
  module.exports.CLAIMS = CLAIMS;
  module.exports.ID_TOKEN_CLAIMS = ID_TOKEN_CLAIMS;
  module.exports.NAMESPACE = NAMESPACE;
  module.exports.buildClaims = buildClaims;
  module.exports.buildIdTokenClaims = buildIdTokenClaims;
}
