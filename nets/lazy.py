"""Names a package exports but loads on first access (PEP 562), for the packages whose public
names live in modules that import torch, Ray or python-chess's engine at their top.

    __getattr__, __dir__ = lazy_attributes(globals(), {"train": "alphazero.train.driver"})

Each package says next to its table why those names are lazy (what the import costs).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(namespace: dict[str, Any], table: dict[str, str]
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` that import ``table[name]`` (a module path)
    the first time ``name`` is read, and keep the value in ``namespace`` (the module's
    ``globals()``) so later reads never come back here."""
    module_name = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(namespace.get("__all__", ())))

    return __getattr__, __dir__
