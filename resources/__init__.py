"""Falcon resources: one module per noun, dependencies through their constructors."""
