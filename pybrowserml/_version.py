"""The package version (one place: io writes it into saved files, the package root exports it)."""

__version__ = "0.1.0"
