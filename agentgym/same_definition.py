"""Whether two classes or functions are one definition executed twice.

Running a notebook cell again, or a script again with ``runpy``, makes new class and function
objects from the same source; ``agentgym.register`` treats such a re-registration as the
no-op it is, and a changed definition as a different one. Python keeps no source for a class
made in a notebook cell (``inspect.getsource`` fails there), so the comparison is of what
the code compiled to: two definitions are the same when they have the same module and
qualified name, the same bases (compared the same way), and the same members -- functions
with equal code objects (byte-code, constants, names, line numbers: an edit anywhere shows),
equal defaults and closures over the same values, nested classes compared the same way;
``functools.partial`` objects by their callable and bound arguments; tuples, lists, dicts
and dataclass instances (a ``@tool``) item by item; other values equal under ``==``.
A member that cannot be compared (an object without ``==``) makes them different: when in
doubt, the caller is asked to say ``override=True``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
from typing import Any

import numpy as np

#: Class attributes every class has its own copy of, whatever its source.
_PER_CLASS = frozenset({"__dict__", "__weakref__", "_abc_impl"})


def same_definition(a: Any, b: Any) -> bool:
    """``a`` and ``b`` are equal, or classes or functions defined by the same code under the
    same module and qualified name (see the module docstring)."""
    return _Comparison().same(a, b)


class _Comparison:
    """One comparison. Definitions refer to themselves (a method calling ``super()`` closes
    over its class; a nested function may call itself; a list may hold itself), so a pair
    already being compared is taken as the same while its other parts decide."""

    def __init__(self) -> None:
        self.assumed: set[tuple[int, int]] = set()

    def same(self, a: Any, b: Any) -> bool:
        if a is b:
            return True
        kind = _kind(a) if type(a) is type(b) else None
        if kind is None:
            return _equal(a, b)
        if (id(a), id(b)) in self.assumed:
            return True
        self.assumed.add((id(a), id(b)))
        return getattr(self, f"same_{kind}")(a, b)

    def same_sequence(self, a: tuple | list, b: tuple | list) -> bool:
        return len(a) == len(b) and all(map(self.same, a, b))

    def same_mapping(self, a: dict, b: dict) -> bool:
        return a.keys() == b.keys() and all(self.same(a[k], b[k]) for k in a)

    def same_record(self, a: Any, b: Any) -> bool:
        return all(self.same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))

    def same_class(self, a: type, b: type) -> bool:
        if (a.__module__, a.__qualname__) != (b.__module__, b.__qualname__) or not self.same(a.__bases__, b.__bases__):
            return False
        members_a = {k: v for k, v in vars(a).items() if k not in _PER_CLASS}
        members_b = {k: v for k, v in vars(b).items() if k not in _PER_CLASS}
        return members_a.keys() == members_b.keys() and all(self.same_member(members_a[k], members_b[k])
                                                            for k in members_a)

    def same_function(self, a: types.FunctionType, b: types.FunctionType) -> bool:
        """Equal code and defaults, and closures over the same values (``make_factory(1)`` and
        ``make_factory(2)`` share their code, not their meaning)."""
        if (a.__module__, a.__qualname__) != (b.__module__, b.__qualname__) or a.__code__ != b.__code__:
            return False
        if not (self.same(a.__defaults__, b.__defaults__) and self.same(a.__kwdefaults__, b.__kwdefaults__)):
            return False
        cells_a, cells_b = a.__closure__ or (), b.__closure__ or ()
        return len(cells_a) == len(cells_b) and all(map(self.same_cell, cells_a, cells_b))

    def same_partial(self, a: functools.partial, b: functools.partial) -> bool:
        """The same callable (compared as above) with the same arguments bound."""
        return (self.same(a.func, b.func) and self.same(a.args, b.args)
                and self.same(a.keywords, b.keywords))

    def same_cell(self, a: types.CellType, b: types.CellType) -> bool:
        try:
            return self.same(a.cell_contents, b.cell_contents)
        except ValueError:  # an empty cell (a name not bound yet)
            return False

    def same_member(self, a: Any, b: Any) -> bool:
        if type(a) is not type(b):
            return False
        if isinstance(a, (classmethod, staticmethod)):
            return self.same(a.__func__, b.__func__)
        if isinstance(a, property):
            return all(self.same(x, y) for x, y in ((a.fget, b.fget), (a.fset, b.fset), (a.fdel, b.fdel)))
        if isinstance(a, (types.MemberDescriptorType, types.GetSetDescriptorType)):
            return a.__name__ == b.__name__  # a __slots__ entry: made anew with each class
        return self.same(a, b)


def _kind(value: Any) -> str | None:
    """How :meth:`_Comparison.same` looks inside ``value``; ``None``: compared with ``==``."""
    if inspect.isclass(value):
        return "class"
    if inspect.isfunction(value):
        return "function"
    if isinstance(value, functools.partial):
        return "partial"
    if isinstance(value, (tuple, list)):
        return "sequence"
    if isinstance(value, dict):
        return "mapping"
    if dataclasses.is_dataclass(value):
        return "record"
    return None


def _equal(a: Any, b: Any) -> bool:
    """``a == b`` as a plain truth value (numpy's ``True`` for two equal numpy scalars too);
    anything that cannot say (an array, an error) is unequal."""
    try:
        result = a == b
    except Exception:  # noqa: BLE001 - a value that cannot be compared is taken as different
        return False
    return isinstance(result, (bool, np.bool_)) and bool(result)


__all__ = ["same_definition"]
