"""egid's optional parts (pip extras): what each needs, and one line that says how to install what is missing.

The core install computes features, trains and evaluates; three extras add a part each. A command or function that
needs an extra calls :func:`require_extra` before it starts work, so a missing part is one
:class:`~egid.detector.errors.InputError` line (the command line: exit status 2) instead of a ``ModuleNotFoundError``
traceback half way through.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Final

from egid.detector.errors import InputError

__all__ = ("EXTRAS", "Extra", "require_extra")


@dataclass(frozen=True)
class Extra:
    """One pip extra of egid.

    Attributes
    ----------
    modules : tuple of str
        The import names it provides (checked without importing them).
    system : str
        What it needs from the operating system besides Python packages ("" when nothing).
    """

    modules: tuple[str, ...]
    system: str = ""


EXTRAS: Final[dict[str, Extra]] = {
    "deploy": Extra(
        modules=("conifer", "tl2cgen", "treelite", "hls4ml"),
        system="g++ and nlohmann-json (Debian/Ubuntu: apt-get install g++ nlohmann-json3-dev)",
    ),
    "postgres": Extra(
        modules=("psycopg2",), system="a PostgreSQL server to connect to (Debian/Ubuntu: apt-get install postgresql)"
    ),
    "dask": Extra(modules=("distributed",)),
}
"""Extra name (as in ``pip install 'egid[NAME]'``) -> what it provides and needs."""


def require_extra(name: str, *, needed_by: str) -> None:
    """Raise :class:`InputError` unless every module of extra ``name`` can be imported.

    Parameters
    ----------
    name : str
        A key of :data:`EXTRAS`.
    needed_by : str
        The command or option that needs it, named at the start of the message (e.g. ``"egid deploy"``).
    """
    extra = EXTRAS[name]
    missing = [module for module in extra.modules if importlib.util.find_spec(module) is None]
    if missing:
        system = f"; it also needs {extra.system}" if extra.system else ""
        msg = (
            f"{needed_by}: needs egid's {name} extra ({', '.join(missing)} not installed): "
            f"pip install 'egid[{name}]'{system}"
        )
        raise InputError(msg)
