"""Every public function and class of the hardware, link and flow layers documents its parameters.

numpydoc style: a ``Parameters`` section (for a class: in the class docstring,
for its ``__init__``) lists every argument by name. Checked on the source with
:mod:`ast`, so nothing is imported.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The layers whose public API must document every parameter (issue 15).
PACKAGES = (
    "hdlgen/hdl",
    "hdlgen/sim",
    "hdlgen/synth",
    "hdlgen/toolchain",
    "hdlgen/verify",
    "hdlgen/host",
    "hdlgen/bitstream.py",
    "hdlgen/protocol.py",
    "boards",
)
SECTIONS = ("Parameters", "Other Parameters")


def documented_names(doc: str) -> set[str]:
    """Names listed in the ``Parameters`` sections of a numpydoc docstring (``a, b : int`` lists two)."""
    lines = inspect.cleandoc(doc).splitlines()
    names: set[str] = set()
    for i, line in enumerate(lines[:-1]):
        if line.strip() not in SECTIONS or set(lines[i + 1].strip()) != {"-"}:
            continue
        for entry in lines[i + 2 :]:
            if entry.strip() and set(entry.strip()) == {"-"}:  # the underline of the next section
                break
            if entry and not entry[0].isspace():
                names.update(n.strip().lstrip("*") for n in entry.split(" : ")[0].split(","))
    return names


def arguments(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return [n for n in names if n not in ("self", "cls")]


def _is_property(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id in ("property", "cached_property"))
        or (isinstance(d, ast.Attribute) and d.attr in ("setter", "cached_property"))
        for d in fn.decorator_list
    )


def undocumented(path: Path) -> list[str]:
    """``file:line name: problem`` for every public function, method or class of ``path`` that lacks parameter docs."""
    problems: list[str] = []

    def visit(body: list[ast.stmt], prefix: str, class_doc: str | None) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if (node.name.startswith("_") and node.name != "__init__") or _is_property(node):
                    continue
                where = f"{path}:{node.lineno} {prefix}{node.name}"
                if node.name == "__init__":
                    doc = (class_doc or "") + "\n\n" + (ast.get_docstring(node) or "")
                else:
                    doc = ast.get_docstring(node)
                    if doc is None:
                        problems.append(f"{where}: no docstring")
                        continue
                missing = [a for a in arguments(node) if a not in documented_names(doc)]
                if missing:
                    problems.append(f"{where}: parameters not documented: {', '.join(missing)}")
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                doc = ast.get_docstring(node)
                if doc is None:
                    problems.append(f"{path}:{node.lineno} {prefix}{node.name}: no docstring")
                visit(node.body, f"{prefix}{node.name}.", doc)

    visit(ast.parse(path.read_text()).body, "", None)
    return problems


def test_public_functions_and_classes_document_every_parameter() -> None:
    files = [
        f
        for p in PACKAGES
        for f in ([ROOT / p] if p.endswith(".py") else sorted((ROOT / p).rglob("*.py")))
        if not f.name.startswith("_") or f.name == "__init__.py"
    ]
    assert len(files) > 20
    problems = [problem for f in files for problem in undocumented(f)]
    assert problems == []


def test_the_check_finds_what_is_missing(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(
        '''
def good(a, *rest, b=1, **kw):
    """Good.

    Parameters
    ----------
    a, b : int
        Two.
    *rest, **kw
        More.

    Returns
    -------
    int
    """


def partly(a, b):
    """Partly.

    Parameters
    ----------
    a : int

    Returns
    -------
    b : int
        Not a parameter.
    """


def bare(x):
    pass


def _private(x):
    pass


class Thing:
    """A thing.

    Parameters
    ----------
    size : int
    """

    def __init__(self, size, colour):
        pass

    def method(self):
        """No arguments, nothing to list."""

    @property
    def area(self):
        return 1
'''
    )
    found = [p.split(" ", 1)[1] for p in undocumented(f)]
    assert found == [
        "partly: parameters not documented: b",
        "bare: no docstring",
        "Thing.__init__: parameters not documented: colour",
    ]
