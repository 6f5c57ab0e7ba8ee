"""The import rules of DESIGN.md, checked over the source tree with ast (no imports executed)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "stackfile"

# third-party library -> the only places (module prefixes) allowed to import it
CONFINED = {
    "yaml": ("stackfile.spec",),
    "jinja2": ("stackfile.spec", "stackfile.cli.init_cmd", "stackfile.engine.init"),
    "ctypes": ("stackfile.runtime.linux._libc",),
    "pydantic": ("stackfile.daemon",),  # replaced by spec/typed.py; the daemon pays its import once
    "aiohttp": ("stackfile.daemon",),
    "pyroute2": (),  # tests only: the network package speaks netlink itself (network/rtnl.py)
    "watchdog": ("stackfile.watch",),
    "click": ("stackfile.cli",),
    "rich": ("stackfile.cli",),
}

# package -> internal packages it must not import (nothing imports upward)
FORBIDDEN = {
    "stackfile.errors": ("stackfile.",),
    "stackfile.digest": ("stackfile.spec", "stackfile.engine", "stackfile.cli"),
    "stackfile.graph": ("stackfile.spec", "stackfile.engine", "stackfile.cli", "stackfile.runtime"),
    "stackfile.spec": ("stackfile.engine", "stackfile.cli", "stackfile.daemon", "stackfile.reconcile",
                       "stackfile.build", "stackfile.runtime", "stackfile.network", "stackfile.watch",
                       "stackfile.store"),
    "stackfile.store": ("stackfile.engine", "stackfile.cli", "stackfile.daemon", "stackfile.reconcile",
                        "stackfile.build", "stackfile.spec", "stackfile.watch", "stackfile.network"),
    "stackfile.runtime": ("stackfile.spec", "stackfile.engine", "stackfile.cli", "stackfile.daemon",
                          "stackfile.reconcile", "stackfile.build", "stackfile.watch", "stackfile.network"),
    "stackfile.network": ("stackfile.spec", "stackfile.engine", "stackfile.cli", "stackfile.daemon",
                          "stackfile.reconcile", "stackfile.build", "stackfile.watch"),
    "stackfile.volumes": ("stackfile.spec.loader", "stackfile.engine", "stackfile.cli", "stackfile.daemon",
                          "stackfile.reconcile", "stackfile.build", "stackfile.watch"),
    "stackfile.build": ("stackfile.engine", "stackfile.cli", "stackfile.daemon", "stackfile.reconcile",
                        "stackfile.watch", "stackfile.network", "stackfile.spec.discover",
                        "stackfile.spec.loader", "stackfile.spec.parse", "stackfile.spec.merge"),
    "stackfile.reconcile": ("stackfile.engine", "stackfile.cli", "stackfile.daemon", "stackfile.watch",
                            "stackfile.spec.discover", "stackfile.spec.loader", "stackfile.spec.parse",
                            "stackfile.spec.merge"),
    "stackfile.watch": ("stackfile.engine", "stackfile.cli", "stackfile.daemon"),
    "stackfile.export": ("stackfile.engine", "stackfile.cli", "stackfile.daemon", "stackfile.client",
                         "stackfile.reconcile", "stackfile.build", "stackfile.runtime", "stackfile.network",
                         "stackfile.store", "stackfile.watch", "stackfile.spec.loader", "stackfile.volumes"),
    "stackfile.engine": ("stackfile.cli", "stackfile.daemon", "stackfile.client"),
    "stackfile.daemon": ("stackfile.cli", "stackfile.client"),
    "stackfile.client": ("stackfile.daemon", "stackfile.engine"),
}

# library code never prints, exits or reads os.environ (cli is the boundary; the shim entry is a program)
LIBRARY_EXEMPT = ("stackfile.cli", "stackfile.__main__", "stackfile.runtime.linux.shim_main")


def _modules() -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(PKG.rglob("*.py")):
        if "templates" in path.relative_to(PKG).parts:
            continue  # project templates are user code shipped as data, not stackfile's library
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out.append((name, ast.parse(path.read_text(), filename=str(path))))
    return out


def _imports(tree: ast.Module, module: str) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not (PKG / "/".join(base[1:]) / "__init__.py").exists() or node.level > 1:
                    base = base[: len(base) - node.level]
                names.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.append(node.module)
                names.extend(f"{node.module}.{a.name}" for a in node.names)
    return names


def _under(name: str, prefix: str) -> bool:
    return name == prefix.rstrip(".") or name.startswith(prefix if prefix.endswith(".") else prefix + ".")


def test_third_party_libraries_stay_in_their_package() -> None:
    bad = []
    for module, tree in _modules():
        for imported in _imports(tree, module):
            top = imported.split(".")[0]
            allowed = CONFINED.get(top)
            if allowed is not None and not any(_under(module, a) for a in allowed):
                bad.append(f"{module} imports {imported} (allowed only in {', '.join(allowed)})")
    assert bad == []


def test_nothing_imports_upward() -> None:
    bad = []
    for module, tree in _modules():
        for pkg, forbidden in FORBIDDEN.items():
            if not _under(module, pkg):
                continue
            for imported in _imports(tree, module):
                if any(_under(imported, f) for f in forbidden) and not _under(imported, pkg):
                    bad.append(f"{module} imports {imported}")
    assert bad == []


def test_library_code_does_not_print_exit_or_read_environ() -> None:
    bad = []
    for module, tree in _modules():
        if any(_under(module, e) for e in LIBRARY_EXEMPT):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                bad.append(f"{module}:{node.lineno} print()")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "sys" and node.attr == "exit":
                    bad.append(f"{module}:{node.lineno} sys.exit")
                if node.value.id == "os" and node.attr in ("environ", "getenv"):
                    bad.append(f"{module}:{node.lineno} os.{node.attr}")
    assert bad == []
