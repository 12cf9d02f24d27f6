"""``python -m hdlgen``."""

from hdlgen.cli import entry_point

entry_point()
