"""The report's code hash: what decides whether an earlier report, or its article pages, can be kept.

It covers the code and templates that shape the pages and nothing else: every file of this package
(templates, wording, modules), plus, of the other factledger modules the package uses, the source
of the definitions it reaches (the functions, classes and constants it names, and those they name in
turn, followed across factledger modules). Which definitions those are is read from the source
itself (ast), so the list cannot drift from the code: a new call from the report into export.py is
covered the moment it is written, and an edit of the export's CSV or Parquet writing, which no page
reaches, leaves every page as it is. NOT_SHAPING names the modules whose code cannot change a page's
bytes (progress lines, opening the lake).
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE = "factledger.report"
ROOT_PACKAGE = "factledger"
ROOT_DIR = PACKAGE_DIR.parent  # factledger/
NOT_SHAPING = frozenset({"factledger.progress", "factledger.lake"})


def imports(tree: ast.Module, known=None) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """A module's factledger imports, anywhere in it: (alias -> module, for `from factledger import
    x` and `import factledger.x as y`; name -> (module, name), for `from factledger.x import name`).
    `known`: whether a name is a module (default: is_module)."""
    known = known or is_module
    modules: dict[str, str] = {}
    names: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                (node.module == ROOT_PACKAGE or node.module.startswith(ROOT_PACKAGE + ".")):
            for alias in node.names:
                if known(f"{node.module}.{alias.name}"):
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                else:
                    names[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(ROOT_PACKAGE + ".") and alias.asname:
                    modules[alias.asname] = alias.name
    return modules, names


def module_file(name: str) -> Path | None:
    """The source file of factledger module `name` (found in the source tree, nothing imported)."""
    parts = name.split(".")
    if parts[0] != ROOT_PACKAGE:
        return None
    base = ROOT_DIR.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def is_module(name: str) -> bool:
    return module_file(name) is not None


def references(node: ast.AST, modules: dict[str, str], names: dict[str, tuple[str, str]]) -> set[tuple[str | None, str]]:
    """What `node` names: (None, name) for a name of its own module, (module, name) for another
    factledger module's (`alias.name` or a name imported from it)."""
    found: set[tuple[str | None, str]] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules:
            found.add((modules[n.value.id], n.attr))
        elif isinstance(n, ast.Name):
            found.add(names[n.id] if n.id in names else (None, n.id))
    return found


def definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    """A module's top-level definitions by name: functions, classes, assigned names."""
    out: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        out.setdefault(n.id, node)
    return out


def reached(sources: dict[str, str], start: set[tuple[str, str]]) -> dict[str, list[str]]:
    """module -> the source of each of its top-level definitions reachable from `start` ((module,
    name) pairs), in file order, following what each names (within `sources`: module -> its text)."""
    parsed = {m: ast.parse(text) for m, text in sources.items()}
    defs = {m: definitions(t) for m, t in parsed.items()}
    imported = {m: imports(t, lambda name: name in sources or is_module(name)) for m, t in parsed.items()}
    seen: set[tuple[str, int]] = set()
    todo = list(start)
    while todo:
        module, name = todo.pop()
        node = defs.get(module, {}).get(name)
        if node is None or (module, id(node)) in seen:
            continue
        seen.add((module, id(node)))
        for ref_module, ref in references(node, *imported[module]):
            todo.append((ref_module or module, ref))
    out: dict[str, list[str]] = {}
    for module, tree in parsed.items():
        kept = [n for n in tree.body if (module, id(n)) in seen]
        if kept:
            lines = sources[module].splitlines(keepends=True)  # whole lines (ast.get_source_segment splits the file per call)
            out[module] = ["".join(lines[n.lineno - 1:n.end_lineno]).rstrip("\n") for n in kept]
    return out


def package_files(folder: Path = PACKAGE_DIR) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]


def outside_uses(files: list[Path], package: str = PACKAGE) -> set[tuple[str, str]]:
    """(module, name) of every other factledger module's definition the package's modules name."""
    found: set[tuple[str, str]] = set()
    for path in files:
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module, name in references(tree, *imports(tree)):
            if module is not None and not module.startswith(package) and module not in NOT_SHAPING:
                found.add((module, name))
    return found


def module_sources(start: set[tuple[str, str]], package: str = PACKAGE) -> dict[str, str]:
    """The text of every factledger module reachable by imports from the modules of `start` (this
    package's own and NOT_SHAPING left out)."""
    sources: dict[str, str] = {}
    todo = [m for m, _ in start]
    while todo:
        module = todo.pop()
        if module in sources or module.startswith(package) or module in NOT_SHAPING:
            continue
        path = module_file(module)
        if path is None:
            continue
        sources[module] = path.read_text(encoding="utf-8")
        modules, names = imports(ast.parse(sources[module]))
        todo += [*modules.values(), *(m for m, _ in names.values())]
    return sources


def shaping_text() -> tuple[list[tuple[str, bytes]], list[Path]]:
    """(label, bytes) of everything code_hash covers, in a fixed order; and the files read."""
    files = package_files()
    out = [(p.relative_to(PACKAGE_DIR).as_posix(), p.read_bytes()) for p in files]
    start = outside_uses(files)
    sources = module_sources(start)
    for module, segments in sorted(reached(sources, start).items()):
        out.append((module, "\n\n".join(segments).encode("utf-8")))
    return out, files + [module_file(m) for m in sorted(sources)]


def _stats(files: list[Path]) -> list | None:
    try:
        return [[str(p), p.stat().st_mtime_ns, p.stat().st_size] for p in files]
    except OSError:
        return None


_LAST: dict = {}  # the files last hashed, their stats and the hash: parsing them costs ~0.1 s a call


def code_hash(cache: Path | None = None) -> str:
    """SHA-256 over what shapes the report's pages (see the module docstring); computed again when
    a file it read, or the package's list of files, changed since the last call. `cache`: a file
    keeping the last hash with the files' stats between processes (parsing every module the report
    reaches costs ~0.5 s a process), as this process keeps them between calls."""
    package = [str(p) for p in package_files()]
    if _LAST and _LAST["stats"] and _LAST["package"] == package and _stats([Path(f) for f, _, _ in _LAST["stats"]]) == _LAST["stats"]:
        return _LAST["hash"]
    if cache is not None:
        try:
            kept = json.loads(Path(cache).read_text(encoding="utf-8"))
            if kept["package"] == package and kept["stats"] and _stats([Path(f) for f, _, _ in kept["stats"]]) == kept["stats"]:
                _LAST.update(kept)
                return _LAST["hash"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
    texts, files = shaping_text()
    digest = hashlib.sha256()
    for label, text in texts:
        digest.update(label.encode() + b"\0" + hashlib.sha256(text).digest())
    _LAST.clear()
    _LAST.update(hash=digest.hexdigest(), package=package, stats=_stats(files) or [])
    if cache is not None and _LAST["stats"]:
        try:
            temp = Path(cache).with_name(Path(cache).name + f".{os.getpid()}.tmp")
            temp.write_text(json.dumps(_LAST), encoding="utf-8")
            os.replace(temp, cache)
        except OSError:
            pass
    return _LAST["hash"]
