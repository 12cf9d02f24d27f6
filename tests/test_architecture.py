"""The architecture holds: one top-level package in the wheel, layers that import only downward, no cycles.

The contract lives in pyproject.toml (``[tool.importlinter]``) and is explained
in docs/architecture.md. It is checked on the built wheel, where
``hdlgen.boards`` and ``hdlgen.rtl_tests`` sit inside ``hdlgen/`` as they do
for users (in the repository they are the top-level folders ``boards/`` and
``rtl_tests/``).
"""

from __future__ import annotations

import os
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


def test_import_contracts_hold(installed: Path) -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(exe), str(ROOT / "pyproject.toml")],
        cwd=installed,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


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
