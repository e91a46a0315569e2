"""Lazy public names for a package root (PEP 562): each name loads its module on first use.

The roots of ``catalogs``, ``expedition`` and ``warehouse`` export a small API without importing it
(importing a package stays cheap; nothing happens at import time)::

    _EXPORTS = {"Lake": ("warehouse.lake", "Lake")}
    __getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    namespace: MutableMapping[str, Any], exports: Mapping[str, tuple[str, str]], public: Sequence[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of the package whose ``globals()`` is ``namespace``.

    ``exports`` maps a public name to (module, name in that module); a loaded value is kept in
    ``namespace`` so the next access is a plain attribute."""
    package = str(namespace.get("__name__", "?"))

    def __getattr__(name: str) -> Any:
        """Load a public name's module on first use."""
        try:
            module, attr = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attr)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        """The public names beside the module's own."""
        return sorted({*namespace, *public})

    return __getattr__, __dir__
