"""The architecture holds: one top-level package in the wheel, layers that import only downward, no cycles.

The contract lives in pyproject.toml (``[tool.importlinter]``) and is explained
in docs/architecture.md. It is checked on the built wheel, where
``hdlgen.boards`` and ``hdlgen.rtl_tests`` sit inside ``hdlgen/`` as they do
for users (in the repository they are the top-level folders ``boards/`` and
``rtl_tests/``).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the working tree, unpacked."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("hdlgen-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def test_wheel_has_one_top_level_package(installed: Path) -> None:
    tops = {p.name for p in installed.iterdir() if not p.name.endswith(".dist-info")}
    assert tops == {"hdlgen"}
    assert (installed / "hdlgen" / "boards" / "registry.py").exists()
    assert (installed / "hdlgen" / "rtl_tests" / "test_circuit.py").exists()


def lint_imports(site: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's contract on the package tree in ``site``."""
    exe = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(exe), "--no-cache", str(ROOT / "pyproject.toml")],
        cwd=site,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )


def test_import_contracts_hold(installed: Path) -> None:
    proc = lint_imports(installed)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "imported", "contract", "reported"),
    [
        # an upward import: the IR may not use the command line
        ("ir/ports.py", "hdlgen.cli", "Layers import only downward", "- hdlgen.ir.ports -> hdlgen.cli (l."),
        # a cycle inside a package: ir.circuit imports ir.reference at the top of the module
        ("ir/reference.py", "hdlgen.ir.circuit", "No import cycles between", "- .reference -> .circuit (1 import)"),
    ],
)
def test_an_import_inside_a_function_breaks_the_contract(
    installed: Path, tmp_path: Path, module: str, imported: str, contract: str, reported: str
) -> None:
    """Imports inside functions count: the contract is not only about the top of modules."""
    site = tmp_path / "site"
    shutil.copytree(installed / "hdlgen", site / "hdlgen", ignore=shutil.ignore_patterns("__pycache__"))
    path = site / "hdlgen" / module
    path.write_text(path.read_text() + f"\n\ndef _late() -> object:\n    import {imported}\n\n    return {imported}\n")
    proc = lint_imports(site)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert re.search(rf"^{contract}.* BROKEN$", proc.stdout, re.M)
    assert reported in proc.stdout


def _module_graph(site: Path) -> nx.DiGraph:
    sys.path.insert(0, str(site))
    try:
        graph = grimp.build_graph("hdlgen", exclude_type_checking_imports=True, cache_dir=None)
    finally:
        sys.path.remove(str(site))
    G = nx.DiGraph()
    for m in graph.modules:
        G.add_node(m)
        for d in graph.find_modules_directly_imported_by(m):
            G.add_edge(m, d)
    return G


def test_no_import_cycle_between_any_modules(installed: Path) -> None:
    """Function-level imports count: grimp reads every import statement."""
    G = _module_graph(installed)
    assert G.number_of_nodes() > 50
    cycles = list(nx.simple_cycles(G))
    assert cycles == []


def test_a_cycle_would_be_found() -> None:
    """The cycle check is not vacuous."""
    G = nx.DiGraph([("hdlgen.ir.circuit", "hdlgen.ir.reference"), ("hdlgen.ir.reference", "hdlgen.ir.circuit")])
    assert list(nx.simple_cycles(G))


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] in ("boards", "rtl_tests"):
        parts.insert(0, "hdlgen")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package(module: str) -> str:
    """The package of hdlgen that ``module`` belongs to: ``hdlgen.sim`` for ``hdlgen.sim.run``."""
    return ".".join(module.split(".")[:2])


def private_imports_across_packages(paths: list[Path]) -> list[str]:
    """``module: from other import _name`` for every private name imported from another package."""
    found = []
    for path in paths:
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or node.level or not (node.module or "").startswith("hdlgen"):
                continue
            source = node.module or ""
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.endswith("__")
                if private and _package(source) != _package(module):
                    found.append(f"{module}: from {source} import {alias.name}")
    return found


def test_no_private_name_is_imported_from_another_package() -> None:
    paths = [p for folder in ("hdlgen", "boards", "rtl_tests") for p in sorted((ROOT / folder).rglob("*.py"))]
    assert private_imports_across_packages(paths) == []


def test_a_private_import_across_packages_would_be_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "hdlgen" / "sim").mkdir(parents=True)
    (tmp_path / "hdlgen" / "sim" / "link.py").write_text(
        "from hdlgen.sim.run import _build\nfrom hdlgen.toolchain.cocotb_runner import _env, build\n"
    )
    found = private_imports_across_packages([tmp_path / "hdlgen" / "sim" / "link.py"])
    assert found == ["hdlgen.sim.link: from hdlgen.toolchain.cocotb_runner import _env"]


def readme_layout_rows() -> list[list[str]]:
    """The modules of each row of the README's layout table, in order (rows of hdlgen's code only)."""
    text = (ROOT / "README.md").read_text()
    table = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        paths = re.findall(r"`([\w/.]+)`", line.split("|")[1])
        modules = [
            ("hdlgen/" + p if p.startswith(("boards/", "rtl_tests/")) else p).removesuffix("/").removesuffix(".py")
            for p in paths
            if p.startswith(("hdlgen/", "boards/", "rtl_tests/"))
        ]
        if modules:
            rows.append([m.replace("/", ".") for m in modules])
    return rows


def upward_imports(rows: list[list[str]], G: nx.DiGraph) -> list[str]:
    """``a -> b`` for every import of a module in a later row; every module of ``G`` must be in a row."""
    row_of = {}
    for m in G.nodes:
        owners = [i for i, row in enumerate(rows) for prefix in row if m == prefix or m.startswith(prefix + ".")]
        if m not in ("hdlgen", "hdlgen.__main__"):  # the package's facade and `python -m hdlgen`
            assert owners, f"{m} is in no row of the README's layout table"
            row_of[m] = owners[0]
    return [f"{a} -> {b}" for a, b in G.edges if a in row_of and b in row_of and row_of[b] > row_of[a]]


def test_readme_layout_table_follows_the_layers(installed: Path) -> None:
    """Each row of the README's layout table imports only rows above it (or its own)."""
    rows = readme_layout_rows()
    assert rows[0] == ["hdlgen.errors"] and rows[-1] == ["hdlgen.cli"]
    assert upward_imports(rows, _module_graph(installed)) == []


def test_an_upward_row_would_be_found() -> None:
    G = nx.DiGraph([("hdlgen.sim.run", "hdlgen.ir.ports"), ("hdlgen.ir.ports", "hdlgen.errors")])
    assert upward_imports([["hdlgen.errors"], ["hdlgen.ir"], ["hdlgen.sim"]], G) == []
    swapped = [["hdlgen.errors"], ["hdlgen.sim"], ["hdlgen.ir"]]
    assert upward_imports(swapped, G) == ["hdlgen.sim.run -> hdlgen.ir.ports"]


def test_architecture_page_draws_the_layers_in_mermaid() -> None:
    """The page has mermaid diagrams, mkdocs renders the fence as a diagram, and the page is in the nav.

    (tests/test_docs.py builds the site with ``mkdocs build --strict``.)
    """
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert page.count("```mermaid\n") >= 2
    for layer in ("hdlgen.errors", "hdlgen.ir", "hdlgen.hdl", "hdlgen.toolchain", "hdlgen.power", "cli"):
        assert layer in page.split("```mermaid\n", 1)[1].split("```", 1)[0]
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"custom_fences:\s*\n\s*- name: mermaid\s*\n\s*class: mermaid", config)
    assert "architecture.md" in config


def _message_text(node: ast.expr) -> str:
    """A string or f-string as written, with ``{}`` for each formatted value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_message_text(v) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return ""


#: A command suggested to the user (``run 'hdlgen data fetch mnist'``) may carry its flags.
_COMMAND = re.compile(r"'(?:hdlgen |\{\} )[^']*'")
_FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


def flags_in_messages(paths: list[Path]) -> list[str]:
    """``file:line: --flag`` for each command-line flag in the message of a ``raise`` (outside suggested commands)."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            parts = {id(v) for sub in ast.walk(node.exc) if isinstance(sub, ast.JoinedStr) for v in sub.values}
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.JoinedStr | ast.Constant) and id(sub) not in parts:
                    text = _COMMAND.sub("", _message_text(sub))
                    found += [f"{path}:{sub.lineno}: {flag}" for flag in _FLAG.findall(text)]
    return found


def test_library_messages_name_parameters_not_command_line_flags() -> None:
    """Below the command line, a refused value is named by its parameter; the CLI adds the flag (UsageError)."""
    paths = [
        p
        for folder in ("hdlgen", "boards")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if "cli" not in p.relative_to(ROOT).parts
    ]
    assert flags_in_messages(paths) == []


def test_a_flag_in_a_message_would_be_found(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(
        "def f(x, folder):\n"
        "    raise ValueError(f'{x}: needs --simulator verilator')\n"
        "    raise ValueError(\"pass --trust\")\n"
        "    raise ValueError(f\"run 'hdlgen data fetch --data-dir {folder}' or set simulator\")\n"
        "    raise ValueError(\"nextpnr-ice40 --up5k failed\" if x else 'x')\n"
    )
    found = [line.split(": ", 1)[1] for line in flags_in_messages([f])]
    assert found == ["--simulator", "--trust", "--up5k"]
