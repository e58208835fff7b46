/**
 * Pizza 42 — Auth0 Post-Login Action (spec §6).
 *
 * Adds the `https://pizza42.com/` custom claims to the ID token and the access token. The Flask
 * app reads them (pizza42/claims.py); the claim names are listed once in pizza42/claims.json.
 * Auth0 needs an Action to be one self-contained file, so the list is repeated below as CLAIMS,
 * and the tests (deploy/auth0/post-login-action.test.js, tests/test_auth0_action.py) check that
 * the two lists are equal and that this Action writes only those names.
 *
 * The Action needs no secrets, no AWS credentials and no network access: orders live in DynamoDB
 * and are read by the app, never here.
 */

const NAMESPACE = "https://pizza42.com/";

// Keep equal to the "claims" list of pizza42/claims.json (checked by the tests).
const CLAIMS = Object.freeze([
  "email",
  "email_verified",
  "can_place_orders",
  "token_verified_at",
  "auth_metadata",
  "customer_info",
  "verification_required",
]);

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

/**
 * The custom claims for one login, keyed by their short name (without the namespace).
 * Only plain values picked from `event.user` / `event.connection` are copied: never
 * `event.secrets`, identities, or user/app metadata.
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
      time,
    },
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

exports.onExecutePostLogin = async (event, api) => {
  const claims = buildClaims(event);
  for (const [name, value] of Object.entries(claims)) {
    // A name outside CLAIMS would be a claim the app does not know about: fail loudly in tests.
    if (!CLAIMS.includes(name)) throw new Error(`claim ${name} is not in CLAIMS`);
    api.idToken.setCustomClaim(NAMESPACE + name, value);
    api.accessToken.setCustomClaim(NAMESPACE + name, value);
  }
};

// For the tests only. Auth0 calls just the `onExecute*` / `onContinue*` handlers, so these extra
// exports are inert there; the guard keeps the file loadable where `module` does not exist.
if (typeof module === "object" && module && module.exports) {
  module.exports.CLAIMS = CLAIMS;
  module.exports.NAMESPACE = NAMESPACE;
  module.exports.buildClaims = buildClaims;
}
