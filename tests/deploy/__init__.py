"""Tests of deploy/cloudformation/: cfn-lint, the parsed template, and the stack created in moto."""
