"""egid's version, read once from the installed package's metadata (one source for the package and its artifacts)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ("__version__",)

try:
    __version__ = version("egid")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
