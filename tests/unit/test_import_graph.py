"""Imports flow handler -> api -> services -> storage/adapters -> AWS, never upward: read from the
import statements of every module in the domain package (no module is imported to check it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "tximport"

#: what a part of the package may never import
FORBIDDEN = {
    "services": ("tximport.api",),
    "storage": ("tximport.api", "tximport.services"),
    "adapters": ("tximport.api", "tximport.services", "tximport.storage"),
    "formats": ("tximport.api", "tximport.services", "tximport.storage", "tximport.adapters"),
    # the domain's own modules
    "models.py": ("tximport.api", "tximport.services", "tximport.storage", "tximport.adapters"),
    "commands.py": ("tximport.api", "tximport.services", "tximport.storage", "tximport.adapters"),
    "tasks.py": ("tximport.api", "tximport.services", "tximport.storage", "tximport.adapters"),
    "errors.py": ("tximport.api", "tximport.services", "tximport.storage", "tximport.adapters"),
    # the import sessions' domain (models, rules, balances, enrichment, binding)
    "sessions": ("tximport.api", "tximport.services", "tximport.storage", "tximport.adapters"),
    # the reconciliation domain: models, the pure matching engine, ids, records, errors
    "reconciliation": ("tximport.api", "tximport.services", "tximport.storage", "tximport.adapters"),
}


def imported(path: Path) -> set[str]:
    """Every module `path` imports, absolute."""
    package = ".".join(("tximport", *path.relative_to(PACKAGE).parent.parts))
    return imported_by(path.read_text(encoding="utf-8"), package)


def imported_by(source: str, package: str) -> set[str]:
    """Every module `source` imports (and each imported name as a module path, since `from a import b`
    may import module a.b), relative imports resolved against `package`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _modules(part: str) -> list[Path]:
    target = PACKAGE / part
    return sorted(target.rglob("*.py")) if target.is_dir() else [target]


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_no_module_imports_upward(part: str):
    upward = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _modules(part)
        for name in imported(path)
        if any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN[part])
    }
    assert not upward, sorted(upward)


def test_the_check_sees_every_form_of_import():
    source = ("import tximport.api.views\nfrom tximport.api import models\nfrom ..api.envelope import envelope\n"
              "from . import review\n\ndef late():\n    from tximport import api\n")
    assert imported_by(source, "tximport.services") >= {
        "tximport.api.views", "tximport.api", "tximport.api.models", "tximport.api.envelope",
        "tximport.services.review"}
