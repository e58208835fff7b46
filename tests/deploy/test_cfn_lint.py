"""cfn-lint (AWS's own linter: resource schemas, intrinsic functions, best practices) passes on the template."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.deploy.cfn import TEMPLATE

# The venv's own cfn-lint (requirements-dev.txt pins it), never whatever another PATH entry holds.
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def cfn_lint(path: Path) -> subprocess.CompletedProcess:
    """Run cfn-lint on one template, informational checks included; its exit status and findings."""
    return subprocess.run([str(CFN_LINT), "--include-checks", "I", "--", str(path)],
                          capture_output=True, text=True, timeout=300, check=False)


def test_cfn_lint_finds_nothing_in_the_template():
    result = cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_would_fail_on_a_broken_template(tmp_path):
    # The same template with a typo'd property and a Ref to nothing: the linter must say so.
    broken = TEMPLATE.read_text().replace("HealthCheckPath: /api/health", "HealthCheckPat: /api/health", 1)
    broken = broken.replace("VpcId: !Ref VpcId", "VpcId: !Ref NoSuchVpc", 1)
    (tmp_path / "broken.yaml").write_text(broken)
    result = cfn_lint(tmp_path / "broken.yaml")
    assert result.returncode != 0
    assert "HealthCheckPat" in result.stdout and "NoSuchVpc" in result.stdout
