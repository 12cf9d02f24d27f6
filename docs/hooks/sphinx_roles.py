"""A Griffe extension: Sphinx roles in numpydoc docstrings become mkdocstrings cross-references.

Docstrings in hdlgen use the roles numpydoc and Sphinx know, such as
``:class:`Circuit``` or ``:func:`~hdlgen.ir.ranges.propagate_ranges```.
mkdocstrings does not understand them and would show them as raw text. Once
Griffe has loaded the package, this extension rewrites each role in every
docstring into an optional autorefs reference::

    <autoref identifier="hdlgen.ir.circuit.Circuit" optional><code>Circuit</code></autoref>

The identifier is the name resolved in the docstring's own scope (its object,
then the enclosing class and module, as Python would look it up), followed to
its canonical path when it is an alias. mkdocs-autorefs turns the tag into a
link when that object is rendered somewhere in the site, and into plain code
otherwise (``numpy.argmax``, a private helper): never a broken link, never raw
role text. As in Sphinx, a leading ``~`` shows only the last component.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?P<role>class|meth|func|mod|data|attr|obj|exc|const|type):`(?P<target>[^`]+)`")


def _resolve(obj: griffe.Object, name: str) -> str:
    """The canonical path of ``name`` seen from ``obj``, or ``name`` itself when it cannot be resolved."""
    collection = obj.modules_collection
    if name in collection:  # a full path inside the loaded packages
        try:
            return collection[name].canonical_path
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return name
    head, _, rest = name.partition(".")
    try:
        path = obj.resolve(head)
    except griffe.NameResolutionError:
        return name
    full = f"{path}.{rest}" if rest else path
    try:
        return collection[full].canonical_path
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return full


def rewrite(text: str, obj: griffe.Object) -> str:
    """``text`` with every Sphinx role replaced by an optional autorefs reference."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"].strip()
        short = target.startswith("~")
        name = target.lstrip("~.!")
        if "<" in name and name.endswith(">"):  # :class:`title <path>`
            title, _, name = name[:-1].partition("<")
            title = title.strip()
        else:
            title = name.rsplit(".", 1)[-1] if short else name
        if match["role"] in ("meth", "func") and not title.endswith(")"):
            title += "()"
        identifier = _resolve(obj, name)
        return f'<autoref identifier="{html.escape(identifier)}" optional><code>{html.escape(title)}</code></autoref>'

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of a package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Walk the package's own objects (not aliases) and rewrite their docstrings."""
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = rewrite(obj.docstring.value, obj)
            stack.extend(member for member in obj.members.values() if not member.is_alias)
