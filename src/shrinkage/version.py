"""The library's version (one place: the package, files and reports read it here)."""

__version__ = "0.1.0"
