"""The administrative tree: division codes, levels, loading, and subtree scoping.

This package knows nothing about Flask or the web application.
"""
