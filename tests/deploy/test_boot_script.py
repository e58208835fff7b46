"""The instances' boot script (the launch template's user data): valid bash, signalling only once /api/ready
answers, installing files the repository has, and writing settings the app accepts with secrets read from SSM."""

from __future__ import annotations

import glob
import re
import stat
import subprocess
from pathlib import Path

import pytest

from pizza42.config import load_settings
from tests.deploy.cfn import ROOT, defaults, load_template, substitute, table_names, user_data

TEMPLATE = load_template()
# The parameters without a default, as an operator would give them.
GIVEN = {"VpcId": "vpc-1", "LoadBalancerSubnetIds": "subnet-a,subnet-b", "InstanceSubnetIds": "subnet-c,subnet-d",
         "ReleaseBucket": "pizza42-releases", "ReleaseKey": "releases/pizza42-v1.4.0.tar.gz",
         "ReleaseSha256": "ab" * 32, "DomainName": "shop.example.com", "Auth0Domain": "pizza42.eu.auth0.com",
         "Auth0ClientId": "AbCdEf0123456789", "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}


def rendered_user_data(**overrides: str) -> str:
    """The boot script as an instance receives it (Fn::Sub applied with the given parameters)."""
    names = defaults(TEMPLATE, **{**GIVEN, **overrides})
    names.update(table_names(TEMPLATE, names), AppLogGroup="/pizza42/pizza42")
    return substitute(user_data(TEMPLATE), names)



# -- the boot script -----------------------------------------------------------------------------

def test_the_boot_script_is_valid_bash():
    result = subprocess.run(["bash", "-n"], input=rendered_user_data(), capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_success_is_signalled_only_after_api_ready_answers_200_through_nginx():
    script = rendered_user_data()
    ready = script.index("http://127.0.0.1:8080/api/ready")
    assert script.count("signal 0") == 1
    success = script.index("signal 0")
    assert ready < script.index('if [ "$status" = 200 ]; then') < success
    assert "-H 'Host: shop.example.com'" in script[ready - 200:ready]  # TRUSTED_HOSTS would refuse 127.0.0.1
    assert script.index("systemctl enable --now pizza42.socket pizza42.service nginx.service") < ready
    assert "cfn-signal --exit-code \"$1\" --stack 'pizza42' --resource AutoScalingGroup" in script


def test_every_file_the_boot_script_installs_from_the_release_exists_in_the_repository():
    paths = set(re.findall(r"/opt/pizza42/((?:deploy/)[\w./*-]+|requirements\.txt)", rendered_user_data()))
    assert {"deploy/pizza42.service", "deploy/pizza42.socket", "deploy/nginx/servers/alb.conf"} <= paths
    for path in paths:
        assert glob.glob(str(ROOT / path)), path


def env_file(script: str, secrets: dict[str, str]) -> dict[str, str]:
    """The environment file pizza42-env writes, with the values it would read from SSM."""
    body = script.split('cat > "$tmp" <<ENV\n', 1)[1].split("\nENV\n", 1)[0]
    env = dict(line.split("=", 1) for line in body.splitlines())
    return {key: secrets.get(value, value) for key, value in env.items()}


def test_the_environment_file_is_settings_the_app_accepts():
    env = env_file(rendered_user_data(ShopTimezone="Europe/Rome", DynamoDBDirectPath="off", CancelWindowMinutes="10",
                                      StaffRole="kitchen crew", ManagerRole="owner"),
                   {"$secret_key": "k" * 64, "$fallbacks": "", "$client_secret": "from-ssm"})
    settings = load_settings(env)
    assert (settings.table_name, settings.sessions_table_name) == ("Pizza42-Orders", "Pizza42-Sessions")
    assert (settings.auth0_issuer, settings.auth0_client_secret) == ("https://pizza42.eu.auth0.com/", "from-ssm")
    assert (settings.app_base_url, settings.trusted_hosts) == ("https://shop.example.com", ("shop.example.com",))
    assert settings.shop_timezone == "Europe/Rome" and settings.dynamodb_direct_path is False
    assert (settings.cancel_window_seconds, settings.staff_role, settings.manager_role) == (600, "kitchen crew",
                                                                                            "owner")


def test_the_environment_file_is_replaced_whole_readable_by_root_and_the_app_only():
    script = rendered_user_data()
    write = script.index('cat > "$tmp" <<ENV')
    assert script.index("umask 027") < script.index("tmp=$(mktemp /etc/pizza42/") < write
    assert write < script.index('chgrp pizza42 "$tmp"') < script.index('chmod 0640 "$tmp"') < script.index(
        'mv -f "$tmp" /etc/pizza42/pizza42.env')
    assert "install -d -m 0750 -g pizza42 /etc/pizza42" in script


def test_every_variable_the_instance_writes_is_one_the_app_reads():
    readers = (ROOT / "pizza42" / "config.py").read_text() + (ROOT / "gunicorn.conf.py").read_text()
    env = env_file(rendered_user_data(), {})
    for name in env:
        assert f'"{name}"' in readers, name


@pytest.mark.parametrize("secret", ["SECRET_KEY", "SECRET_KEY_FALLBACKS", "AUTH0_CLIENT_SECRET"])
def test_secrets_come_from_ssm_at_boot_never_from_the_template(secret):
    script = rendered_user_data(SecretKeyFallbacksParameterName="/pizza42/old-keys")
    variable = env_file(script, {})[secret]
    assert re.fullmatch(r"\$[a-z_]+", variable)  # a shell variable, filled at boot
    assert re.search(rf"{re.escape(variable[1:])}=\$\(secret '/", script)  # ... by `aws ssm get-parameter`
    assert "aws ssm get-parameter --region 'us-east-1' --with-decryption --name \"$1\"" in script
    assert "set -x" not in script.replace("Never `set -x`", "")


# -- pizza42-env, run for real (with a stand-in `aws` and a scratch directory for /etc/pizza42) ------------

def env_script(tmp_path: Path, **overrides: str) -> Path:
    """The instance's /usr/local/sbin/pizza42-env, writing into tmp_path instead of /etc/pizza42."""
    script = rendered_user_data(**overrides).split("<<'SCRIPT'\n", 1)[1].split("\nSCRIPT\n", 1)[0]
    script = script.replace("/etc/pizza42", str(tmp_path)).replace("chgrp pizza42", "chgrp \"$(id -gn)\"")
    path = tmp_path / "pizza42-env"
    path.write_text(script + "\n")
    return path


def fake_aws(tmp_path: Path, values: dict[str, str]) -> dict[str, str]:
    """A PATH whose `aws ssm get-parameter --name N` prints values[N] (and fails for any other name)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cases = "".join(f"    {name}) printf '%s\\n' '{value}' ;;\n" for name, value in values.items())
    (bin_dir / "aws").write_text(
        "#!/bin/bash\nwhile [ $# -gt 0 ]; do [ \"$1\" = --name ] && name=$2; shift; done\n"
        f"case $name in\n{cases}    *) echo \"ParameterNotFound: $name\" >&2; exit 254 ;;\nesac\n")
    (bin_dir / "aws").chmod(0o755)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin"}


def test_pizza42_env_writes_the_secrets_from_ssm_into_a_file_only_root_and_the_app_read(tmp_path):
    key, client_secret, old_key = "k" * 64, "c" * 48, "o" * 64
    script = env_script(tmp_path, SecretKeyFallbacksParameterName="/pizza42/old-keys")
    env = fake_aws(tmp_path, {"/pizza42/secret-key": key, "/pizza42/auth0-client-secret": client_secret,
                              "/pizza42/old-keys": old_key})
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "pizza42.env"
    values = dict(line.split("=", 1) for line in written.read_text().splitlines())
    assert (values["SECRET_KEY"], values["AUTH0_CLIENT_SECRET"], values["SECRET_KEY_FALLBACKS"]) == (
        key, client_secret, old_key)
    assert stat.S_IMODE(written.stat().st_mode) == 0o640
    assert key not in result.stdout + result.stderr and client_secret not in result.stdout + result.stderr
    assert load_settings(values).secret_key_fallbacks == (old_key,)


def test_pizza42_env_fails_and_writes_nothing_when_a_secret_cannot_be_read(tmp_path):
    script = env_script(tmp_path)
    env = fake_aws(tmp_path, {"/pizza42/secret-key": "k" * 64})  # the Auth0 secret is missing
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert not (tmp_path / "pizza42.env").exists()
    assert not list(tmp_path.glob(".pizza42.env.*"))
