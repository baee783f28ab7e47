"""Exports that import their module on first use, so heavy back-ends (torch, transformers)
load only when asked for."""

from __future__ import annotations

import difflib
import importlib
import sys
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module path)
    on first access of ``name``; other names raise ``AttributeError`` as for a plain module,
    ending ``Did you mean: 'x'?`` when a public name of the package or a lazy export is close
    (Python cannot suggest these itself: the lazy names are not in the package's ``dir()``)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        message = f"module {package!r} has no attribute {name!r}"
        module = sys.modules.get(package)
        known = [n for n in (*vars(module), *exports) if not n.startswith("_")] if module else list(exports)
        close = difflib.get_close_matches(name, known, n=1) if isinstance(name, str) else []
        if close:
            message += f". Did you mean: {close[0]!r}?"
        raise AttributeError(message)

    return __getattr__
