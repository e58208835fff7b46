# Pizza 42 — the two commands a newcomer needs:
#   make run    the app with a local DynamoDB emulator and a local identity provider
#   (make run-edge: the same behind the production edge, nginx in front of two gunicorns)
#   make test   lint and the whole test suite (unit, API, gunicorn, browser, Auth0 Action)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CUSTOMER ?= auth0|demo-verified

.PHONY: run run-edge token test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m pizza42.sandbox

run-edge: $(STAMP)
	$(BIN)/python -m pizza42.sandbox_edge

token: $(STAMP)
	@$(BIN)/python -m pizza42.sandbox token --user '$(CUSTOMER)' $(if $(KIND),--kind '$(KIND)')

# cfn-lint: the CloudFormation template (tests/deploy/ lints it too, and checks it against the app).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint deploy/cloudformation/*.yaml

# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
test: lint
	@$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/artifacts
