"""The package's layers: imports only run downwards, and the two faces (api/, web/) never import each other.

Read from the source with `ast`, function-local imports included, so a lazy `import` inside a function
cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pizza42"
FACES = ("pizza42.api", "pizza42.web")
# The shop's pages (kitchen, analytics): a third face, over the customers' pages' login and session.
STAFF_FACE = "pizza42.staff"
# Only these wire the faces together: the app factory and its app-wide error pages and commands.
COMPOSITION = {"pizza42", "pizza42.errors", "pizza42.commands", "pizza42.sandbox"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, wherever the import statement is (`from m import x`: m.x if a module, else m)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if (PACKAGE.parent / (submodule.replace(".", "/") + ".py")).exists()
                          or (PACKAGE.parent / submodule.replace(".", "/")).is_dir() else node.module)
    return found


def is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


MODULES = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_the_layout_is_what_these_tests_expect():
    assert {"pizza42.auth.tokens", "pizza42.web.login", "pizza42.api.views", "pizza42.orders.store"} <= set(MODULES)
    assert "pizza42.auth.login" not in MODULES  # the pages' login lives with the pages


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n not in COMPOSITION and not is_under(n, FACES[0])
                                        and not is_under(n, FACES[1]) and not is_under(n, STAFF_FACE)))
def test_no_lower_layer_imports_a_face(name):
    upward = sorted(i for i in MODULES[name] if any(is_under(i, face) for face in FACES))
    assert upward == [], f"{name} imports {upward}"


@pytest.mark.parametrize("face, other", [FACES, FACES[::-1]])
def test_the_faces_do_not_import_each_other(face, other):
    for name, imported in MODULES.items():
        if is_under(name, face):
            assert not any(is_under(i, other) for i in imported), f"{name} imports {other}"


def test_the_staff_face_uses_the_pages_login_and_nothing_imports_it():
    """pizza42.staff may import pizza42.web (the session, charts, filters), never the API; no one imports staff."""
    for name, imported in MODULES.items():
        if is_under(name, STAFF_FACE):
            assert not any(is_under(i, FACES[0]) for i in imported), f"{name} imports the API"
        elif name not in COMPOSITION:
            assert not any(is_under(i, STAFF_FACE) for i in imported), f"{name} imports {STAFF_FACE}"


def test_auth_is_bearer_token_verification_only():
    """No web framework, no sessions, no forms: just tokens, keys and the claim names."""
    for name, imported in MODULES.items():
        if is_under(name, "pizza42.auth"):
            internal = {i for i in imported if is_under(i, "pizza42") and not is_under(i, "pizza42.auth")}
            assert internal <= {"pizza42.claims"}, f"{name} imports {sorted(internal)}"
            assert not any(is_under(i, "flask") or is_under(i, "authlib") for i in imported), name
