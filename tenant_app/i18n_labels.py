"""A `pybabel extract` method for modules of labels (coded values, field names, headings).

Such modules hold their labels as plain Chinese strings, looked up by code and translated when shown
(`_(label)` in templates), so no `_()` call marks them. This method takes every Chinese string of the module
as a message, besides the usual `_()`/`_l()` calls; babel.cfg names the modules it applies to.
"""

from __future__ import annotations

import ast
import io
import re

from babel.messages.extract import extract_python

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _in_fstrings(tree: ast.Module) -> set[int]:
    return {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in ast.walk(node)}


def extract(fileobj, keywords, comment_tags, options):
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    tree = ast.parse(source.decode(options.get("encoding", "utf-8")))
    skip = _docstrings(tree) | _in_fstrings(tree)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                and CHINESE.search(node.value) and " / " not in node.value):
            yield node.lineno, None, node.value, []
