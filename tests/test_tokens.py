"""Bearer-token verification (spec §4 Tokens), against a real local issuer serving discovery and a JWKS."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid

import pytest

from pizza42.auth.jwks import REFETCH_BURST, REFETCHES_PER_MINUTE
from pizza42.auth.tokens import (
    IdentityProviderUnavailable,
    TokenError,
    TokenVerifier,
    VerifiedToken,
    parse_bearer,
)
from pizza42.claims import CAN_PLACE_ORDERS, EMAIL
from tests.jwt_helpers import LocalIssuer, RSAKeyFixture, b64url, compact

API = "https://pizza42-api"
SPA = "spa-client-id"
REFILL = 60.0 / REFETCHES_PER_MINUTE  # seconds for the refetch bucket to earn one more fetch


class FakeClock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def key() -> RSAKeyFixture:
    """The issuer's signing key, published in its JWKS as "key-1"."""
    return RSAKeyFixture(kid="key-1")


@pytest.fixture(scope="session")
def other_key() -> RSAKeyFixture:
    """Another key: the next one after a rotation, or an attacker's."""
    return RSAKeyFixture(kid="key-2")


@pytest.fixture
def idp(key):
    """A local issuer over real HTTP, publishing `key`."""
    with LocalIssuer(key.jwks) as issuer:
        yield issuer


@pytest.fixture
def clock() -> FakeClock:
    """The verifier's clock, which the tests advance by hand."""
    return FakeClock()


@pytest.fixture
def make_verifier(idp, clock):
    """Build a verifier for the local issuer; keyword arguments override its options."""

    def make(**overrides) -> TokenVerifier:
        options = dict(
            issuer=idp.issuer,
            audience=API,
            spa_client_ids={SPA},
            http_timeout=0.5,
            clock=clock,
        )
        return TokenVerifier(**{**options, **overrides})

    return make


@pytest.fixture
def verifier(make_verifier) -> TokenVerifier:
    """A verifier for the API audience that also accepts the legacy SPA's ID tokens."""
    return make_verifier()


@pytest.fixture
def claims(idp, clock):
    """Claims of a valid access token, with overrides (None removes a claim)."""

    def make(**overrides) -> dict:
        now = int(clock())
        base = {
            "iss": idp.issuer,
            "sub": "auth0|alice",
            "aud": API,
            "iat": now,
            "exp": now + 3600,
            "scope": "openid profile",
        }
        merged = {**base, **overrides}
        return {k: v for k, v in merged.items() if v is not None}

    return make


@pytest.fixture
def id_claims(claims):
    """Claims of a valid ID token issued to the legacy SPA."""
    return lambda **overrides: claims(**{"aud": SPA, "scope": None, "email": "alice@example.com", **overrides})


# --- parse_bearer ----------------------------------------------------------------------------------


def test_parse_bearer_returns_the_token():
    assert parse_bearer("Bearer abc.DEF-_.x~+/=") == "abc.DEF-_.x~+/="


def test_parse_bearer_accepts_a_lowercase_scheme():
    assert parse_bearer("bearer abc.def.ghi") == "abc.def.ghi"


@pytest.mark.parametrize("header", [None, ""], ids=["absent", "empty"])
def test_parse_bearer_rejects_a_missing_header(header):
    with pytest.raises(TokenError):
        parse_bearer(header)


NOT_BEARER_SPACE_TOKEN = {
    "basic": "Basic dXNlcjpwYXNz",
    "no-token": "Bearer",
    "no-token-after-space": "Bearer ",
    "two-spaces": "Bearer  abc.def.ghi",
    "two-tokens": "Bearer abc def",
    "trailing-newline": "Bearer abc\n",
    "leading-space": " Bearer abc",
    "no-space": "Bearerabc",
    "padding-inside": "Bearer a=b",
    "not-token68": "Bearer ab€",
}


@pytest.mark.parametrize("header", NOT_BEARER_SPACE_TOKEN.values(), ids=NOT_BEARER_SPACE_TOKEN.keys())
def test_parse_bearer_rejects_anything_but_exactly_bearer_space_token(header):
    with pytest.raises(TokenError):
        parse_bearer(header)


# --- valid tokens ----------------------------------------------------------------------------------


def test_access_token_with_string_audience_is_verified(verifier, key, claims):
    result = verifier.verify(key.sign(claims()))
    assert isinstance(result, VerifiedToken)
    assert (result.token_type, result.subject) == ("access", "auth0|alice")
    assert result.claims["aud"] == API


def test_access_token_with_list_audience_is_verified(verifier, key, claims, idp):
    token = key.sign(claims(aud=[API, idp.issuer + "/userinfo"]))
    assert verifier.verify(token).token_type == "access"


def test_id_token_from_a_configured_spa_client_is_verified(verifier, key, id_claims):
    result = verifier.verify(key.sign(id_claims()))
    assert result.token_type == "id"
    assert result.email == "alice@example.com"


def test_id_token_with_list_audience_and_our_azp_is_verified(verifier, key, id_claims):
    assert verifier.verify(key.sign(id_claims(aud=[SPA, "other"], azp=SPA))).token_type == "id"


def test_id_token_from_another_client_is_rejected(verifier, key, id_claims):
    with pytest.raises(TokenError, match="not issued for this API"):
        verifier.verify(key.sign(id_claims(aud="someone-elses-spa")))


def test_id_token_authorized_for_another_party_is_rejected(verifier, key, id_claims):
    with pytest.raises(TokenError):
        verifier.verify(key.sign(id_claims(aud=[SPA, "other"], azp="other")))


def test_id_token_with_a_malformed_azp_is_rejected(verifier, key, id_claims):
    with pytest.raises(TokenError):
        verifier.verify(key.sign(id_claims(azp=[SPA])))


def test_token_without_kid_is_verified_when_the_jwks_has_a_single_key(verifier, key, id_claims, idp):
    idp.jwks = key.jwks_without_kid
    assert verifier.verify(key.sign(id_claims(), headers={"kid": None})).subject == "auth0|alice"


def test_token_without_kid_is_rejected_when_the_jwks_has_several_keys(verifier, key, other_key, claims, idp):
    idp.jwks = {"keys": key.jwks["keys"] + other_key.jwks["keys"]}
    with pytest.raises(TokenError, match="key id"):
        verifier.verify(key.sign(claims(), headers={"kid": None}))


def test_token_expired_within_the_leeway_is_accepted(verifier, key, claims, clock):
    assert verifier.verify(key.sign(claims(exp=int(clock()) - 30))).subject == "auth0|alice"


# --- rejected tokens -------------------------------------------------------------------------------


MALFORMED_TOKENS = {
    "empty": "",
    "opaque": "opaque-random-string",
    "two-segments": "abc.def",
    "jwe-like": "a.b.c.d.e",
    "bad-base64": "!!!.@@@.###",
    "garbage-segments": "a.b.c",
    "header-not-json": b64url(b"not json") + "." + b64url(b"{}") + ".c2ln",
    "header-not-object": b64url(b'["alg", "RS256"]') + "." + b64url(b"{}") + ".c2ln",
    "non-ascii": "eyJhbGciOiJSUzI1NiJ9.é.c2ln",
}


@pytest.mark.parametrize("token", MALFORMED_TOKENS.values(), ids=MALFORMED_TOKENS.keys())
def test_malformed_token_is_rejected_with_token_error(verifier, token):
    with pytest.raises(TokenError):
        verifier.verify(token)


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b'"a string"'], ids=["text", "array", "string"])
def test_signed_payload_that_is_not_a_json_object_is_rejected(verifier, key, payload):
    with pytest.raises(TokenError, match="payload"):
        verifier.verify(key.sign_payload(payload))


@pytest.mark.parametrize("crit", [1, ["b64", 2], ["x-unknown"]], ids=["number", "list-with-number", "unknown"])
def test_malformed_or_unknown_crit_header_is_rejected(verifier, key, claims, crit):
    with pytest.raises(TokenError):
        verifier.verify(key.sign_payload(json.dumps(claims()).encode(), headers={"crit": crit}))


def test_alg_none_is_rejected(verifier, claims):
    with pytest.raises(TokenError, match="RS256"):
        verifier.verify(compact({"alg": "none", "kid": "key-1"}, claims()))


def test_hs256_signed_with_the_public_key_pem_is_rejected(verifier, key, claims):
    with pytest.raises(TokenError, match="RS256"):
        verifier.verify(key.sign_hs256_with_public_pem(claims()))


@pytest.mark.parametrize("alg", ["RS512", "PS256"])
def test_other_algorithms_are_rejected_even_with_a_valid_signature(verifier, key, claims, alg):
    with pytest.raises(TokenError, match="RS256"):
        verifier.verify(key.sign(claims(), alg=alg))


def test_tampered_payload_is_rejected(verifier, key, claims):
    header, _, signature = key.sign(claims()).split(".")
    forged = b64url(b'{"iss": "x", "sub": "auth0|mallory"}')
    with pytest.raises(TokenError, match="signature"):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_token_signed_by_an_unknown_key_is_rejected(verifier, other_key, claims):
    with pytest.raises(TokenError, match="unknown key"):
        verifier.verify(other_key.sign(claims()))


def test_token_with_our_kid_but_another_keys_signature_is_rejected(verifier, other_key, claims):
    with pytest.raises(TokenError, match="signature"):
        verifier.verify(other_key.sign(claims(), headers={"kid": "key-1"}))


def test_embedded_jwk_header_is_never_trusted(verifier, other_key, claims):
    token = other_key.sign(claims(), headers={"kid": "key-1", "jwk": other_key.public_jwk})
    with pytest.raises(TokenError):
        verifier.verify(token)


def test_jku_header_is_never_followed(verifier, key, other_key, claims):
    with LocalIssuer(other_key.jwks) as attacker:
        token = other_key.sign(claims(), headers={"jku": attacker.jwks_url})
        with pytest.raises(TokenError):
            verifier.verify(token)
        assert attacker.jwks_fetches == 0


@pytest.mark.parametrize("iss", ["https://evil.example", "TRAILING_SLASH", None], ids=["other", "slash", "none"])
def test_wrong_or_missing_issuer_is_rejected(verifier, key, claims, idp, iss):
    token = key.sign(claims(iss=idp.issuer + "/" if iss == "TRAILING_SLASH" else iss))
    with pytest.raises(TokenError, match="iss"):
        verifier.verify(token)


def test_issuer_is_compared_exactly_when_configured_with_a_trailing_slash(make_verifier, key, claims, idp):
    verifier = make_verifier(issuer=idp.issuer + "/")
    assert verifier.verify(key.sign(claims(iss=idp.issuer + "/"))).subject == "auth0|alice"
    with pytest.raises(TokenError, match="iss"):
        verifier.verify(key.sign(claims(iss=idp.issuer)))


@pytest.mark.parametrize(
    "aud", ["https://other-api", ["https://other-api", "x"], 42, None], ids=["string", "list", "number", "missing"]
)
def test_wrong_audience_is_rejected(verifier, key, claims, aud):
    with pytest.raises(TokenError):
        verifier.verify(key.sign(claims(aud=aud)))


def test_token_expired_beyond_the_leeway_is_rejected(verifier, key, claims, clock):
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(key.sign(claims(exp=int(clock()) - 61)))


def test_token_without_exp_is_rejected(verifier, key, claims):
    with pytest.raises(TokenError, match="exp"):
        verifier.verify(key.sign(claims(exp=None)))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_token_not_yet_valid_beyond_the_leeway_is_rejected(verifier, key, claims, clock, claim):
    with pytest.raises(TokenError, match=claim):
        verifier.verify(key.sign(claims(**{claim: int(clock()) + 120})))


@pytest.mark.parametrize("sub", [None, "", 42], ids=["missing", "empty", "number"])
def test_token_without_a_string_subject_is_rejected(verifier, key, claims, sub):
    with pytest.raises(TokenError, match="sub"):
        verifier.verify(key.sign(claims(sub=sub)))


def test_error_messages_never_contain_token_content(verifier, key, claims):
    secret = "s3cr3t-marker"
    for token in [key.sign(claims(aud=secret)), key.sign(claims(sub=secret, exp=1)), secret + ".a.b"]:
        with pytest.raises(TokenError) as caught:
            verifier.verify(token)
        assert secret not in caught.value.message and secret not in str(caught.value)


# --- keys: fetching, caching, rotation, outages ----------------------------------------------------


def test_keys_are_not_fetched_before_the_first_verify(verifier, idp):
    assert (idp.discovery_fetches, idp.jwks_fetches) == (0, 0)


def test_keys_are_fetched_once_and_cached(verifier, key, claims, idp):
    for _ in range(5):
        verifier.verify(key.sign(claims()))
    assert (idp.discovery_fetches, idp.jwks_fetches) == (1, 1)


@pytest.mark.parametrize("burst", [1, 1000], ids=["small-bucket", "large-bucket"])
def test_concurrent_first_requests_fetch_the_keys_once(make_verifier, key, claims, idp, burst):
    verifier = make_verifier(jwks_refetch_burst=burst)
    token = key.sign(claims())
    idp.delay = 0.2
    barrier = threading.Barrier(8)
    results: list = []

    def worker() -> None:
        barrier.wait()
        results.append(verifier.verify(token).subject)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["auth0|alice"] * 8
    assert idp.jwks_fetches == 1


def unknown_kid_token(claims) -> str:
    """A token naming a made-up key id: refused before any signature check, so it need not be signed."""
    return compact({"alg": "RS256", "typ": "JWT", "kid": uuid.uuid4().hex}, claims(), b"not-a-signature")


def test_rotated_key_is_accepted_after_one_refetch(verifier, key, other_key, claims, idp):
    verifier.verify(key.sign(claims()))
    idp.jwks = {"keys": key.jwks["keys"] + other_key.jwks["keys"]}
    assert verifier.verify(other_key.sign(claims())).subject == "auth0|alice"
    verifier.verify(other_key.sign(claims()))  # now cached: no further fetch
    assert idp.jwks_fetches == 2


def test_a_new_key_is_accepted_at_once_even_right_after_an_unknown_kid(verifier, key, other_key, claims, idp):
    """The old one-refetch-a-minute limit refused the new key for up to 60 s here; the bucket does not."""
    verifier.verify(key.sign(claims()))
    with pytest.raises(TokenError, match="unknown key"):
        verifier.verify(unknown_kid_token(claims))  # a stray token with a foreign kid, then the rotation:
    idp.jwks = {"keys": key.jwks["keys"] + other_key.jwks["keys"]}
    assert verifier.verify(other_key.sign(claims())).subject == "auth0|alice"  # same instant, no waiting
    assert idp.jwks_fetches == 3


def flood(verifier, claims, clock, seconds: float, per_second: int = 20) -> None:
    """Unknown-kid tokens at a steady rate for `seconds` of the verifier's time; each one is refused."""
    for _ in range(int(seconds * per_second)):
        with pytest.raises(TokenError, match="unknown key"):
            verifier.verify(unknown_kid_token(claims))
        clock.advance(1 / per_second)


def test_an_unknown_kid_flood_costs_the_issuer_a_handful_of_fetches_a_minute(verifier, key, claims, idp, clock):
    token = key.sign(claims())
    verifier.verify(token)
    fetches = [idp.jwks_fetches]
    for _minute in range(10):  # 20 made-up kids a second for ten minutes: 12,000 tokens
        flood(verifier, claims, clock, seconds=60)
        fetches.append(idp.jwks_fetches)
    per_minute = [after - before for before, after in itertools.pairwise(fetches)]
    assert per_minute[0] <= REFETCH_BURST + REFETCHES_PER_MINUTE
    assert all(n <= REFETCHES_PER_MINUTE for n in per_minute[1:]), per_minute
    assert sum(per_minute) >= 10 * REFETCHES_PER_MINUTE  # the budget is used, not just refused outright
    assert verifier.verify(token).subject == "auth0|alice"  # known keys are never held up by the flood


def test_a_rotation_during_a_flood_is_picked_up_within_one_refill(verifier, key, other_key, claims, idp, clock):
    verifier.verify(key.sign(claims()))
    flood(verifier, claims, clock, seconds=30)  # the bucket is empty now
    idp.jwks = {"keys": key.jwks["keys"] + other_key.jwks["keys"]}
    rotated_at, accepted_at = clock(), None
    while accepted_at is None and clock() - rotated_at < 60:
        flood(verifier, claims, clock, seconds=0.5)
        try:
            verifier.verify(other_key.sign(claims()))
            accepted_at = clock()
        except TokenError:
            pass
    assert accepted_at is not None and accepted_at - rotated_at <= REFILL + 0.5


def test_a_concurrent_flood_costs_no_more_than_the_burst(verifier, key, claims, idp):
    verifier.verify(key.sign(claims()))
    tokens = [unknown_kid_token(claims) for _ in range(400)]
    barrier = threading.Barrier(8)
    refused: list[int] = []

    def worker(share: list[str]) -> None:
        barrier.wait()
        count = 0
        for token in share:
            try:
                verifier.verify(token)
            except TokenError:
                count += 1
        refused.append(count)

    threads = [threading.Thread(target=worker, args=(tokens[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(refused) == 400
    assert idp.jwks_fetches == 1 + REFETCH_BURST  # the frozen clock refills nothing


@pytest.mark.parametrize("outage", ["500", "bad-json", "timeout", "stopped"])
def test_jwks_outage_keeps_the_last_good_keys(verifier, key, other_key, claims, idp, clock, outage):
    token = key.sign(claims())
    verifier.verify(token)
    {
        "500": lambda: idp.fail_with(500),
        "bad-json": idp.serve_bad_json,
        "stopped": idp.stop,
        "timeout": lambda: setattr(idp, "delay", 1.0),
    }[outage]()
    with pytest.raises(TokenError, match="unknown key"):
        verifier.verify(other_key.sign(claims()))  # forces a refetch, which fails
    assert verifier.verify(token).subject == "auth0|alice"


def test_jwks_without_usable_keys_keeps_the_last_good_keys(verifier, key, other_key, claims, idp, clock):
    token = key.sign(claims())
    verifier.verify(token)
    idp.jwks = {"keys": [{"kty": "EC", "kid": "ec"}, {**other_key.public_jwk, "use": "enc"}]}
    with pytest.raises(TokenError):
        verifier.verify(other_key.sign(claims()))
    assert idp.jwks_fetches == 2
    assert verifier.verify(token).subject == "auth0|alice"


def test_encryption_keys_in_the_jwks_are_not_used_for_signatures(verifier, other_key, claims, idp):
    idp.jwks = {"keys": [{**other_key.public_jwk, "use": "enc"}]}
    with pytest.raises(IdentityProviderUnavailable):
        verifier.verify(other_key.sign(claims()))


@pytest.mark.parametrize("outage", ["500", "stopped"])
def test_identity_provider_down_at_first_use_is_unavailable(verifier, key, claims, idp, outage):
    idp.fail_with(500) if outage == "500" else idp.stop()
    with pytest.raises(IdentityProviderUnavailable):
        verifier.verify(key.sign(claims()))


def test_first_use_outage_is_retried_after_a_few_seconds_not_on_every_request(verifier, key, claims, idp, clock):
    idp.fail_with(500)
    token = key.sign(claims())
    for _ in range(3):
        with pytest.raises(IdentityProviderUnavailable):
            verifier.verify(token)
    assert idp.discovery_fetches == 1
    idp.recover()
    clock.advance(5)
    assert verifier.verify(token).subject == "auth0|alice"


# --- what a verified token grants ------------------------------------------------------------------


def test_access_token_has_a_scope_from_its_scope_claim(verifier, key, claims):
    result = verifier.verify(key.sign(claims(scope="openid place:orders")))
    assert result.has_scope("place:orders")
    assert not result.has_scope("place")


def test_access_token_has_a_scope_from_its_permissions(verifier, key, claims):
    result = verifier.verify(key.sign(claims(scope=None, permissions=["place:orders"])))
    assert result.has_scope("place:orders")
    assert not result.has_scope("read:orders")


def test_id_token_of_the_legacy_spa_has_every_scope(verifier, key, id_claims):
    assert verifier.verify(key.sign(id_claims())).has_scope("place:orders")


def test_can_place_orders_follows_the_custom_claim(verifier, key, claims):
    result = verifier.verify(key.sign(claims(**{CAN_PLACE_ORDERS: False, "email_verified": True})))
    assert result.can_place_orders is False


def test_can_place_orders_falls_back_to_email_verified(verifier, key, claims):
    assert verifier.verify(key.sign(claims(email_verified=True))).can_place_orders is True
    assert verifier.verify(key.sign(claims(email_verified=False))).can_place_orders is False


def test_email_prefers_the_custom_claim(verifier, key, claims):
    token = key.sign(claims(**{EMAIL: "alice@pizza42.example", "email": "other@example.com"}))
    assert verifier.verify(token).email == "alice@pizza42.example"


# --- verified tokens remembered ----------------------------------------------------------------------


@pytest.fixture
def signature_checks(monkeypatch) -> list[int]:
    """Counts the RSA signature checks the verifier makes."""
    import pizza42.auth.tokens as tokens_module

    checks: list[int] = []
    real = tokens_module.jws.validate_compact

    def counting(*args, **kwargs):
        checks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tokens_module.jws, "validate_compact", counting)
    return checks


def test_a_token_verified_once_is_not_signature_checked_again(verifier, key, claims, signature_checks):
    token = key.sign(claims())
    first = verifier.verify(token)
    again = verifier.verify(token)
    assert again.subject == first.subject == "auth0|alice"
    assert again.claims == first.claims and again.token_type == "access"
    assert len(signature_checks) == 1


def test_a_remembered_token_still_expires(verifier, key, claims, clock):
    token = key.sign(claims(exp=int(clock()) + 100))
    verifier.verify(token)
    clock.advance(100 + 59)  # past exp, within the 60 s leeway
    assert verifier.verify(token).subject == "auth0|alice"
    clock.advance(1)  # exp + leeway: no longer accepted, as on a first verification
    with pytest.raises(TokenError, match="expired"):
        verifier.verify(token)
    assert token not in verifier._verified


def test_a_tampered_copy_of_a_remembered_token_is_still_rejected(verifier, key, claims):
    token = key.sign(claims())
    verifier.verify(token)
    header, _payload, signature = token.split(".")
    forged = b64url(json.dumps({**claims(), "sub": "auth0|mallory"}).encode())
    with pytest.raises(TokenError, match="signature"):
        verifier.verify(f"{header}.{forged}.{signature}")


def test_a_remembered_token_of_a_key_gone_from_the_jwks_is_rejected(verifier, key, other_key, claims, idp):
    token = key.sign(claims())
    verifier.verify(token)
    idp.jwks = other_key.jwks  # the issuer rotated key-1 out; a token of the new key makes us refetch
    verifier.verify(other_key.sign(claims()))
    with pytest.raises(TokenError, match="unknown key"):
        verifier.verify(token)


def test_a_remembered_kidless_token_is_rejected_once_the_jwks_has_several_keys(
    verifier, key, other_key, id_claims, idp
):
    idp.jwks = key.jwks_without_kid
    token = key.sign(id_claims(), headers={"kid": None})
    verifier.verify(token)
    idp.jwks = {"keys": key.jwks["keys"] + other_key.jwks["keys"]}
    verifier.verify(other_key.sign(id_claims()))  # unknown kid: refetch, now two keys
    with pytest.raises(TokenError, match="key id"):
        verifier.verify(token)


def test_a_refetched_jwks_with_the_same_key_verifies_remembered_tokens_afresh(
    verifier, key, other_key, claims, idp, signature_checks
):
    token = key.sign(claims())
    verifier.verify(token)
    idp.jwks = {"keys": key.jwks["keys"] + other_key.jwks["keys"]}
    verifier.verify(other_key.sign(claims()))  # refetch: new key objects
    assert verifier.verify(token).subject == "auth0|alice"
    assert len(signature_checks) == 3


def test_remembered_tokens_are_bounded(verifier, key, claims, monkeypatch, signature_checks):
    import pizza42.auth.tokens as tokens_module

    monkeypatch.setattr(tokens_module, "VERIFIED_CACHE_SIZE", 3)
    tokens = [key.sign(claims(sub=f"auth0|c{i}")) for i in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert len(verifier._verified) == 3
    verifier.verify(tokens[-1])  # still remembered
    assert len(signature_checks) == 5
    assert verifier.verify(tokens[0]).subject == "auth0|c0"  # forgotten first: checked again
    assert len(signature_checks) == 6


def test_a_rejected_token_is_not_remembered(verifier, key, claims, clock, signature_checks):
    token = key.sign(claims(nbf=int(clock()) + 600))
    for _ in range(2):
        with pytest.raises(TokenError):
            verifier.verify(token)
    assert len(signature_checks) == 2
