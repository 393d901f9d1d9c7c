"""The import layers of docs/architecture.md, enforced: a stage imports only the stages below it.

Every import counts, also those inside functions and under ``TYPE_CHECKING`` (a cycle hidden
there is still a cycle for the reader). The packages' order: cli on top; lab above runner;
runner (and resume) over alert and diagnose; alert over store; diagnose over detect, the node
agent's parsers and watch; detect over watch; watch over kube; the foundation modules (errors,
config, durations, ...) under everything and importing nothing else.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import podsleuth

ROOT = Path(podsleuth.__file__).parent

FOUNDATION = {
    "datafiles",
    "__init__",
    "errors",
    "durations",
    "jsontext",
    "metrics",
    "locale",
    "redact",
    "textwidth",
    "link_text",
    "config",
    "config_checks",
}
ALLOWED: dict[str, set[str]] = {
    "kube": set(),
    "watch": {"kube"},
    "detect": {"watch", "kube"},
    "node": set(),
    "diagnose": {"detect", "watch", "kube", "node"},
    "store": set(),
    "alert": {"store"},
    "resume": {"alert", "detect", "store"},
    "runner": {"alert", "diagnose", "detect", "watch", "kube", "store", "resume"},
    "console": {"store"},
    "deploy": {"store"},
    "lab": {"runner", "resume", "alert", "diagnose", "detect", "watch", "kube", "node", "store"},
}
"""Package -> the packages (besides the foundation and itself) it may import."""


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    return rel[0].removesuffix(".py")


def _submodule(name: str) -> str:
    """``from podsleuth import X``: X is a module of the package, or a name from its __init__."""
    return name if (ROOT / name).is_dir() or (ROOT / f"{name}.py").is_file() else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = (
                [node.module]
                if node.module != "podsleuth"
                else [f"podsleuth.{_submodule(a.name)}" for a in node.names]
            )
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "podsleuth" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def _violations() -> list[str]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        here = _package(path)
        if here in ("cli", "__main__"):
            continue
        allowed = FOUNDATION | {here} if here not in FOUNDATION else FOUNDATION
        allowed = allowed | ALLOWED.get(here, set())
        for line, target in _imports(path):
            if target not in allowed:
                out.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {target}")
    return out


def test_every_package_has_a_place_in_the_layers() -> None:
    packages = {_package(p) for p in ROOT.rglob("*.py")} - {"cli", "__main__"}
    assert packages <= FOUNDATION | set(ALLOWED), sorted(packages - FOUNDATION - set(ALLOWED))


def test_imports_go_down_the_layers_only() -> None:
    assert _violations() == []


@pytest.mark.parametrize("package", ["cli", "lab"])
def test_nothing_below_imports_the_top(package: str) -> None:
    users = {
        f"{p.relative_to(ROOT)}" for p in ROOT.rglob("*.py")
        for _, target in _imports(p) if target == package and _package(p) not in ("cli", "__main__", package)
    }  # fmt: skip
    assert users == set()
