"""Queue names, in one place."""

DEFAULT = "default"
ROLLUP = "rollup"
FANOUT = "fanout"
IMPORTS = "imports"

ALL = (FANOUT, ROLLUP, IMPORTS, DEFAULT)
