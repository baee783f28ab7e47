"""Whether two classes or functions are one definition executed twice.

Running a notebook cell again, or a script again with ``runpy``, makes new class and function
objects from the same source; ``agentgym.register`` treats such a re-registration as the
no-op it is, and a changed definition as a different one. Python keeps no source for a class
made in a notebook cell (``inspect.getsource`` fails there), so the comparison is of what
the code compiled to: two definitions are the same when they have the same module and
qualified name, the same bases (compared the same way), and the same members -- functions
with equal code objects (byte-code, constants, names, line numbers: an edit anywhere shows)
and equal defaults, nested classes compared the same way, other values equal under ``==``.
A member that cannot be compared (an object without ``==``) makes them different: when in
doubt, the caller is asked to say ``override=True``.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

#: Class attributes every class has its own copy of, whatever its source.
_PER_CLASS = frozenset({"__dict__", "__weakref__", "_abc_impl"})


def same_definition(a: Any, b: Any) -> bool:
    """``a`` and ``b`` are equal, or classes or functions defined by the same code under the
    same module and qualified name (see the module docstring)."""
    if a is b:
        return True
    if not (inspect.isclass(a) and inspect.isclass(b) or inspect.isfunction(a) and inspect.isfunction(b)):
        return _equal(a, b)
    if (a.__module__, a.__qualname__) != (b.__module__, b.__qualname__):
        return False
    if inspect.isfunction(a):
        return _same_function(a, b)
    if len(a.__bases__) != len(b.__bases__) or not all(map(same_definition, a.__bases__, b.__bases__)):
        return False
    members_a = {k: v for k, v in vars(a).items() if k not in _PER_CLASS}
    members_b = {k: v for k, v in vars(b).items() if k not in _PER_CLASS}
    return members_a.keys() == members_b.keys() and all(_same_member(members_a[k], members_b[k]) for k in members_a)


def _same_function(a: types.FunctionType, b: types.FunctionType) -> bool:
    return a.__code__ == b.__code__ and _equal(a.__defaults__, b.__defaults__) \
        and _equal(a.__kwdefaults__, b.__kwdefaults__)


def _same_member(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (classmethod, staticmethod)):
        return same_definition(a.__func__, b.__func__)
    if isinstance(a, property):
        return all(same_definition(x, y) for x, y in ((a.fget, b.fget), (a.fset, b.fset), (a.fdel, b.fdel)))
    if isinstance(a, (types.MemberDescriptorType, types.GetSetDescriptorType)):
        return a.__name__ == b.__name__  # a __slots__ entry: made anew with each class
    return same_definition(a, b)


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` as a plain truth value; anything that cannot say (an array, an error) is
    unequal."""
    try:
        return (a == b) is True
    except Exception:  # noqa: BLE001 - a value that cannot be compared is taken as different
        return False


__all__ = ["same_definition"]
