"""``ast.parse`` that is safe to call from many threads at once.

CPython 3.11 keeps the depth counter of its AST-to-Python conversion in state shared by the
whole interpreter. When two threads convert at once -- a garbage collection during one
conversion runs a finalizer, the thread switches, another thread parses -- the counters mix and
``ast.parse`` raises ``SystemError: AST constructor recursion depth mismatch`` on valid input
(CPython issue gh-106905 and its neighbours). Action parsers run on the rollout engine's
threads, many environments at once, so every ``ast.parse`` of agentgym goes through
:func:`parse`, which holds one process-wide lock. Action texts are short: the lock costs
microseconds.
"""

from __future__ import annotations

import ast
import threading

__all__ = ["parse"]

_lock = threading.Lock()


def parse(source: str, mode: str = "exec") -> ast.AST:
    """``ast.parse(source, mode=mode)`` under the process-wide lock; raises what it raises."""
    with _lock:
        return ast.parse(source, mode=mode)
