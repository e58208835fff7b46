"""No secret value anywhere in the template: parameters name SSM SecureString parameters, instances read them."""

from __future__ import annotations

import itertools
import random
import re
import string

import pytest

from tests.deploy.cfn import load_template, strings

TEMPLATE = load_template()

_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|A3T[A-Z0-9])[A-Z0-9]{16}\b")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_HEX = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{32,}(?![0-9A-Fa-f])")
# A run of base64/base64url characters (no path separators) long enough to be a key or a client secret.
_TOKEN = re.compile(r"[A-Za-z0-9+=_-]{20,}")
# A secret-named setting given a literal value (SECRET_KEY=abc..., "password": "..."); a $variable is fine.
_ASSIGNED = re.compile(r"(?i)\b[\w-]*(?:secret|password|passwd|api[_-]?key)[\w-]*[\"']?\s*[=:]\s*[\"']?"
                       r"([^\s\"'$][^\s\"']{7,})")


def _random_looking(token: str) -> bool:
    """Mixed case and digits, with letters and digits interleaved as random text has them (not TLS13-2021)."""
    if not (re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"[0-9]", token)):
        return False
    transitions = sum(1 for a, b in itertools.pairwise(token) if a.isdigit() != b.isdigit()
                      and a.isalnum() and b.isalnum())
    return transitions >= 4


def secret_in(text: str) -> str | None:
    """The first thing in `text` that looks like a secret value, or None."""
    for pattern in (_KEY_ID, _PRIVATE_KEY, _HEX):
        if match := pattern.search(text):
            return match.group(0)
    if match := _ASSIGNED.search(text):
        return match.group(0)
    return next((token for token in _TOKEN.findall(text) if _random_looking(token)), None)


def _fake(alphabet: str, length: int, seed: int) -> str:
    return "".join(random.Random(seed).choices(alphabet, k=length))


@pytest.mark.parametrize("planted", [
    _fake("0123456789abcdef", 64, 1),                                         # SECRET_KEY (token_hex(32))
    _fake(string.ascii_letters + string.digits + "-_", 64, 2),                # an Auth0 client secret
    "AKIA" + _fake(string.ascii_uppercase + string.digits, 16, 3),            # an AWS access key id
    "AUTH0_CLIENT_SECRET=correct-horse-battery",                              # a literal in the env file
    "-----BEGIN RSA PRIVATE KEY-----",
])
def test_the_detector_finds_a_planted_secret(planted):
    assert secret_in(f"echo 'SECRET_KEY read at boot'\n{planted}\nsigned") is not None


def test_no_string_in_the_template_looks_like_a_secret():
    found = {text[:80]: hit for text in strings(TEMPLATE) if (hit := secret_in(text))}
    assert found == {}


def test_secret_parameters_hold_ssm_names_never_values():
    secret_parameters = {name: p for name, p in TEMPLATE["Parameters"].items() if "Secret" in name}
    assert set(secret_parameters) == {"SecretKeyParameterName", "SecretKeyFallbacksParameterName",
                                      "Auth0ClientSecretParameterName", "SecretsKmsKeyArn", "SecretsRevision"}
    for name in ("SecretKeyParameterName", "SecretKeyFallbacksParameterName", "Auth0ClientSecretParameterName"):
        parameter = secret_parameters[name]
        assert parameter["AllowedPattern"].startswith(("^/", "^(/"))  # a parameter store name, nothing else
        assert parameter["Default"] == "" or parameter["Default"].startswith("/pizza42/")


def test_no_parameter_is_no_echo_because_no_secret_value_enters_the_stack():
    assert not [name for name, p in TEMPLATE["Parameters"].items() if p.get("NoEcho")]
