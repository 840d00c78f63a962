"""Choosing a unit from the tree: a JSON list of a unit's children, loaded level by level by unit_picker.js."""
