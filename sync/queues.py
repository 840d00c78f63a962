"""Queue names, in one place."""

DEFAULT = "default"
ROLLUP = "rollup"
FANOUT = "fanout"
IMPORTS = "imports"
LINKS = "links"

ALL = (FANOUT, ROLLUP, IMPORTS, LINKS, DEFAULT)
