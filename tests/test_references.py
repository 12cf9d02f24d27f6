"""The project carries its own contract: every file a shipped text names is in the repository.

Shipped texts are the README, the documentation (docs/, mkdocs.yml), the
scripts, examples and benchmarks, the sources of ``hdlgen``, ``boards`` and
``rtl_tests`` (docstrings, comments, messages) and the ``--help`` text of
every command. A path counts as a reference to a repository file when it
starts with a top-level folder of the repository (``docs/...``,
``hdlgen/...``), climbs out of it (``../...``), or is a Markdown file name
(``SPEC.md``); Markdown links and images in docs/ are resolved from their
page. Nothing shipped may point outside the clone (``../shared``).
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from functools import cache
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent

SHIPPED_GLOBS = [
    "README.md",
    "mkdocs.yml",
    "pyproject.toml",
    "docs/**/*.md",
    "scripts/*.sh",
    "examples/**/*",
    "bench/**/*",
    "hdlgen/**/*.py",
    "boards/**/*",
    "rtl_tests/**/*",
]
TEXT_SUFFIXES = {".md", ".py", ".sh", ".toml", ".yml", ".yaml", ".txt", ".cfg"}
# a path-like token: letters, digits, dots, dashes, underscores and slashes, with a slash or a .md suffix
TOKEN = re.compile(r"(?<![\w./:-])(\.{1,2}/)?[A-Za-z_][\w.-]*(?:/[\w.*{}<>-]+)*/?")
# the project's outside notes by their short names ("SPEC section 1", "the SPEC ports")
OUTSIDE_NOTES = re.compile(r"\b(?:SPEC|THEORY|DESIGN|TOOLCHAIN)\b(?!\.md)")
MD_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s#]+)(?:#[^)]*)?\)")


@cache
def repository_files() -> frozenset[str]:
    """Files of the repository: what git tracks (a clone), or what is on disk without git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        files = {f for f in out.split("\0") if f}
        if files:
            return frozenset(files)
    except (OSError, subprocess.CalledProcessError):
        pass
    return frozenset(str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts)


@cache
def repository_dirs() -> frozenset[str]:
    dirs = set()
    for f in repository_files():
        parts = f.split("/")
        dirs.update("/".join(parts[:k]) for k in range(1, len(parts)))
    return frozenset(dirs)


@cache
def top_level() -> frozenset[str]:
    return frozenset(f.split("/")[0] for f in repository_files() if "/" in f)


def exists(rel: str) -> bool:
    rel = rel.rstrip("/")
    return rel in repository_files() or rel in repository_dirs()


def shipped_files() -> list[Path]:
    tracked = repository_files()
    found: set[Path] = set()
    for pattern in SHIPPED_GLOBS:
        for path in ROOT.glob(pattern):
            rel = str(path.relative_to(ROOT))
            if path.is_file() and path.suffix in TEXT_SUFFIXES and rel in tracked:
                found.add(path)
    return sorted(found)


def broken_references(text: str, base: str = "") -> list[str]:
    """The repository paths ``text`` names that the repository does not contain.

    ``base`` is the folder of the page ``text`` comes from (for relative Markdown links).
    """
    bad = []
    if "../shared" in text or "/work/shared" in text:
        bad.append("../shared (outside the repository)")
    bad.extend(f"{m.group(0)} (a note outside the repository)" for m in OUTSIDE_NOTES.finditer(text))
    for match in TOKEN.finditer(text):
        token = match.group(0).rstrip(".,;:")
        if any(c in token for c in "*{}<>") or text[match.end() : match.end() + 3] == "://":
            continue  # a pattern, a placeholder or a URL, not a file name
        first = token.split("/")[0]
        if token.startswith("../"):
            target = posixpath.normpath(posixpath.join(base, token))
            if target.startswith("..") or not exists(target):
                bad.append(token)
        elif "/" in token and first in top_level():
            if not token.endswith("/") and "." not in token.split("/")[-1]:
                continue  # "hdlgen/da4ml" is a ratio; a file has a suffix, a folder a trailing slash
            if not exists(token):
                bad.append(token)
        elif "/" not in token and token.endswith(".md") and not token.startswith("."):
            if not any(f == token or f.endswith("/" + token) for f in repository_files()):
                bad.append(token)
    if base.startswith("docs"):
        for link in MD_LINK.findall(text):
            if "://" in link or link.startswith(("mailto:", "#")):
                continue
            target = posixpath.normpath(posixpath.join(base, link))
            if not exists(target):
                bad.append(link)
    return sorted(set(bad))


def help_texts() -> dict[str, str]:
    """The ``--help`` text of every command and subcommand."""
    from hdlgen.cli import cli

    texts: dict[str, str] = {}

    def walk(command: click.Command, parent: click.Context | None, path: str) -> None:
        ctx = click.Context(command, info_name=path.split()[-1], parent=parent)
        texts[path] = command.get_help(ctx)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), ctx, f"{path} {name}")

    walk(cli, None, "hdlgen")
    return texts


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_file_names_only_repository_files(path: Path):
    rel = path.relative_to(ROOT)
    bad = broken_references(path.read_text(encoding="utf-8"), str(rel.parent) if rel.parent != Path(".") else "")
    assert bad == [], f"{rel} names files the repository does not contain: {bad}"


def test_help_texts_name_only_repository_files():
    texts = help_texts()
    assert {"hdlgen", "hdlgen verilog", "hdlgen construct cd"} <= set(texts)
    bad = {name: b for name, text in texts.items() if (b := broken_references(text))}
    assert bad == {}


def test_the_checker_catches_outside_references():
    assert broken_references("the outside contract is `../shared/SPEC.md`")
    assert broken_references("see THEORY.md, construction C1") == ["THEORY.md"]
    assert broken_references("the SPEC ports") == ["SPEC (a note outside the repository)"]
    assert broken_references("see docs/no-such-page.md") == ["docs/no-such-page.md"]
    assert broken_references("see [x](nowhere.md)", "docs") == ["nowhere.md"]
    assert broken_references("see docs/theory.md and [x](images/report.png), out/cd8/design.v", "docs") == []


def test_tests_touch_outside_data_only_to_skip_without_it():
    """A test may read data beside the clone (../shared, /work/shared) only if it skips when it is absent."""
    offenders = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        if ("../shared" in text or "/work/shared" in text) and not re.search(r"pytest\.skip|skipif|importorskip", text):
            offenders.append(path.name)
    assert offenders == []
