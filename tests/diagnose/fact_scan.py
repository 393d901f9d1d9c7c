"""Which facts the diagnosis chain's code writes, found by reading the code (AST), not by running it.

A fact is written when it becomes a key of ``case.facts`` (``case.add(..., key=...)``,
``case.facts[key] = ...``, ``f.update(...)``/``f.setdefault(key, ...)`` on an alias ``f = case.facts``,
``Case.__init__``'s dict) or of the dict a fact extractor returns. A write through a local dict
(``f = {...}; ...; case.add(..., **f)``), a dict comprehension over a module constant
(``**{BROKEN[k]: True ...}``) or a function's returned dict (``f.update(tr.phrases(f, "en"))``) is
followed to its keys; an f-string key (``f[f"{kind}_probe"]``) becomes a pattern (``\\w+_probe``).
Anything it cannot follow is reported as unresolved, so a new kind of write is noticed, not missed.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import podsleuth.diagnose

DIAGNOSE = Path(podsleuth.diagnose.__file__).parent

ORIGIN_OF_MODULE = {
    "evidence": "subject",
    "diagnoser": "derived",
    "translate": "derived",
    "node_link": "node",
    "node_agent": "node",
    "api_link": "api",
    "api_pods": "api",
    "api_images": "api",
    "api_context": "api",
}
"""Which link a module's writes belong to (facts.yaml's ``from``)."""


@dataclass
class Written:
    """Fact names (or f-string patterns) by origin, and the places that could not be followed."""

    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    patterns: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unresolved: list[str] = field(default_factory=list)


def _named(expr: ast.expr, name: str) -> bool:
    return isinstance(expr, ast.Name) and expr.id == name


class _Module:
    def __init__(self, path: Path) -> None:
        self.name = path.stem
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.functions = {
            n.name: n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        self.constants: dict[str, ast.Dict] = {}
        self.imports: dict[str, str] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        self.constants[t.id] = node.value
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("podsleuth."):
                for a in node.names:
                    self.imports[a.asname or a.name] = a.name


class Scanner:
    def __init__(self) -> None:
        paths = [p for p in DIAGNOSE.glob("*.py")]
        self.modules = {p.stem: _Module(p) for p in paths}
        self.extractor_modules = {p.stem: _Module(p) for p in (DIAGNOSE / "extractors").glob("*.py")}

    # ---- keys -----------------------------------------------------------------------------------

    def _keys(self, mod: _Module, expr: ast.expr, out: set[str], pats: set[str]) -> bool:
        """The key names an expression denotes (a key position); False when it cannot tell."""
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            out.add(expr.value)
            return True
        if isinstance(expr, ast.JoinedStr):
            pats.add(
                "".join(
                    re.escape(str(v.value)) if isinstance(v, ast.Constant) else r"\w+" for v in expr.values
                )
            )
            return True
        if isinstance(expr, ast.IfExp):
            return self._keys(mod, expr.body, out, pats) and self._keys(mod, expr.orelse, out, pats)
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Name):
            table = mod.constants.get(expr.value.id)
            if table is not None:
                return all(self._keys(mod, v, out, pats) for v in table.values)
        return False

    def _dict_keys(self, mod: _Module, fn: ast.AST | None, expr: ast.expr, out: set[str], pats: set[str],
                   depth: int = 0) -> bool:  # fmt: skip
        """The keys of a dict-valued expression (a ``**`` or ``update`` argument)."""
        if depth > 8:
            return False
        if isinstance(expr, ast.Constant) and expr.value is None:  # ``found = None`` before the dict
            return True
        if isinstance(expr, ast.Dict):
            ok = True
            for k, v in zip(expr.keys, expr.values, strict=True):
                ok &= (
                    self._dict_keys(mod, fn, v, out, pats, depth + 1)
                    if k is None
                    else self._keys(mod, k, out, pats)
                )
            return ok
        if isinstance(expr, ast.DictComp):
            return self._keys(mod, expr.key, out, pats)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
            ok = all(self._dict_keys(mod, fn, a, out, pats, depth + 1) for a in expr.args)
            out.update(k.arg for k in expr.keywords if k.arg)
            return ok
        if isinstance(expr, ast.Name) and fn is not None:
            return self._local_keys(mod, fn, expr.id, out, pats, depth + 1)
        if isinstance(expr, ast.Call):
            target = self._callee(mod, expr.func)
            if target is not None:
                return self._returned_keys(*target, out, pats, depth + 1)
        return False

    def _callee(self, mod: _Module, func: ast.expr) -> tuple[_Module, ast.AST] | None:
        if isinstance(func, ast.Name):
            if func.id in mod.functions:
                return mod, mod.functions[func.id]
            name = mod.imports.get(func.id)
            for other in self.modules.values():
                if name in other.functions:
                    return other, other.functions[name]
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            imported = self.modules.get(mod.imports.get(func.value.id, ""))
            if imported is not None and func.attr in imported.functions:
                return imported, imported.functions[func.attr]
        return None

    def _returned_keys(self, mod: _Module, fn: ast.AST, out: set[str], pats: set[str], depth: int) -> bool:
        ok, found = True, False
        for node in ast.walk(fn):
            if isinstance(node, ast.Return) and node.value is not None:
                if isinstance(node.value, ast.Constant) and node.value.value is None:
                    continue
                found = True
                ok &= self._dict_keys(mod, fn, node.value, out, pats, depth)
        return ok and found

    def _local_keys(self, mod: _Module, fn: ast.AST, name: str, out: set[str], pats: set[str],
                    depth: int) -> bool:  # fmt: skip
        """Every key written to the local dict ``name`` in ``fn``."""
        ok, found = True, False
        for node in ast.walk(fn):
            value = None
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            ) or (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == name
            ):
                value = node.value
            if value is not None:
                found = True
                ok &= self._dict_keys(mod, fn, value, out, pats, depth)
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == name:
                        ok &= self._keys(mod, t.slice, out, pats)
            if self._is_method(node, name):
                assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                ok &= self._method_keys(mod, fn, node, out, pats, depth)
        return ok and found

    @staticmethod
    def _is_method(node: ast.AST, name: str) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("update", "setdefault")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == name
        )

    def _method_keys(self, mod: _Module, fn: ast.AST, call: ast.Call, out: set[str], pats: set[str],
                     depth: int) -> bool:  # fmt: skip
        assert isinstance(call.func, ast.Attribute)
        if call.func.attr == "setdefault":
            return self._keys(mod, call.args[0], out, pats)
        out.update(k.arg for k in call.keywords if k.arg)
        ok = all(self._dict_keys(mod, fn, k.value, out, pats, depth) for k in call.keywords if not k.arg)
        return ok and all(self._dict_keys(mod, fn, a, out, pats, depth) for a in call.args)

    # ---- the chain's writes ---------------------------------------------------------------------

    @staticmethod
    def _is_case_facts(expr: ast.expr) -> bool:
        return (
            isinstance(expr, ast.Attribute)
            and expr.attr == "facts"
            and isinstance(expr.value, ast.Name)
            and expr.value.id in ("case", "self")
        )

    def chain(self) -> Written:
        w = Written()
        for mod in self.modules.values():
            origin = ORIGIN_OF_MODULE.get(mod.name)
            for fn in mod.functions.values():
                aliases = {
                    t.id
                    for n in ast.walk(fn)
                    if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None
                    and self._is_case_facts(n.value)
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                    if isinstance(t, ast.Name)
                }  # fmt: skip
                for node in ast.walk(fn):
                    self._chain_node(mod, fn, node, aliases, origin, w)
        return w

    def _chain_node(self, mod: _Module, fn: ast.AST, node: ast.AST, aliases: set[str], origin: str | None,
                    w: Written) -> None:  # fmt: skip
        names: set[str] = set()
        pats: set[str] = set()
        ok = True
        where = f"{mod.name}.py:{getattr(node, 'lineno', 0)}"

        def is_facts(e: ast.expr) -> bool:
            return self._is_case_facts(e) or (isinstance(e, ast.Name) and e.id in aliases)

        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if node.func.attr == "add" and isinstance(owner, ast.Name) and owner.id == "case":
                names.update(k.arg for k in node.keywords if k.arg)
                for k in node.keywords:
                    if not k.arg and not self._dict_keys(mod, fn, k.value, names, pats):
                        ok = False
            elif node.func.attr in ("update", "setdefault") and is_facts(owner):
                ok = self._method_keys(mod, fn, node, names, pats, 0)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Subscript) and is_facts(t.value):
                    ok &= self._keys(mod, t.slice, names, pats)
                if self._is_case_facts(t) and node.value is not None:  # Case.__init__
                    ok &= self._dict_keys(mod, fn, node.value, names, pats)
        else:
            return
        if not ok:
            w.unresolved.append(f"{where}: {ast.unparse(node)[:80]}")
        if (names or pats) and origin is None:
            w.unresolved.append(f"{where}: module {mod.name} writes facts but has no origin")
            return
        if origin is not None:
            w.names[origin] |= names
            w.patterns[origin] |= pats

    # ---- the extractors -------------------------------------------------------------------------

    def extractor(self, name: str) -> tuple[set[str], set[str], bool]:
        """The facts an extractor can return: the keys its ``facts`` dict and its returned dicts
        get, following helpers it hands ``facts`` to."""
        for mod in self.extractor_modules.values():
            fn = mod.functions.get(name)
            if fn is None:
                continue
            out: set[str] = set()
            pats: set[str] = set()
            ok = self._extractor_fn(mod, fn, out, pats)
            return out, pats, ok
        raise KeyError(name)

    def _extractor_fn(self, mod: _Module, fn: ast.AST, out: set[str], pats: set[str]) -> bool:
        ok = True
        for node in ast.walk(fn):
            value = node.value if isinstance(node, ast.Return) else None
            if isinstance(value, ast.Dict | ast.DictComp | ast.IfExp):
                for branch in (value.body, value.orelse) if isinstance(value, ast.IfExp) else (value,):
                    if not (isinstance(branch, ast.Constant) and branch.value is None):
                        ok &= self._dict_keys(mod, fn, branch, out, pats)
            helper = self._helper_given_facts(mod, node)
            if helper is not None:
                ok &= self._local_keys(mod, helper, "facts", out, pats, 1) or self._writes(
                    mod, helper, out, pats
                )
        if any(isinstance(n, ast.Name) and n.id == "facts" for n in ast.walk(fn)):
            ok &= self._writes(mod, fn, out, pats)
        return ok

    @staticmethod
    def _helper_given_facts(mod: _Module, node: ast.AST) -> ast.AST | None:
        """A module function called with the extractor's ``facts`` dict (it writes into it)."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            return None
        if any(isinstance(a, ast.Name) and a.id == "facts" for a in node.args):
            return mod.functions.get(node.func.id)
        return None

    def _writes(self, mod: _Module, fn: ast.AST, out: set[str], pats: set[str]) -> bool:
        """Writes to a dict named ``facts`` (parameter or local)."""
        ok = True
        for node in ast.walk(fn):
            if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    if isinstance(t, ast.Name) and t.id == "facts":
                        ok &= self._dict_keys(mod, fn, node.value, out, pats)
                    if (
                        isinstance(t, ast.Subscript)
                        and isinstance(t.value, ast.Name)
                        and t.value.id == "facts"
                    ):
                        ok &= self._keys(mod, t.slice, out, pats)
            if self._is_method(node, "facts"):
                assert isinstance(node, ast.Call)
                ok &= self._method_keys(mod, fn, node, out, pats, 0)
        return ok
