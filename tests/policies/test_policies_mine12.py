"""Defects of the policies found in the twelfth round."""

from __future__ import annotations

import io
import sys
import threading

import pytest

from agentgym.policies.human import terminal_line


def test_a_closed_standard_input_is_the_end_of_input(monkeypatch):
    # run with stdin closed (<&-), Python has no sys.stdin and the human policy's read raised
    # AttributeError ('NoneType' object has no attribute 'readline') instead of EOFError
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(EOFError, match="standard input"):
        terminal_line("> ", threading.Event(), out=io.StringIO())
