"""Code the compiler cannot read — text that is not valid unicode (a lone surrogate), nesting
deeper than the parser's stack, a source that exhausts the memory limit while it is parsed — is
a failed call like a SyntaxError: a result, never an exception, and a session keeps its
interpreter and its variables (it used to die, losing the state and showing the launcher's
own traceback)."""

from __future__ import annotations

import pytest

LONE_SURROGATE = 'print("caf\ud800")'


@pytest.mark.parametrize(("code", "exceptions"), [
    (LONE_SURROGATE, ("UnicodeEncodeError",)),
    ("1+" * 100_000 + "1", ("RecursionError", "MemoryError")),
    ("-" * 200_000 + "1", ("RecursionError", "MemoryError")),
], ids=["lone-surrogate", "deep-expression", "deep-unary"])
def test_a_session_survives_code_the_compiler_refuses(sandbox, leaks, code, exceptions):
    with sandbox.session() as session:
        session.run("kept = 41")
        result = session.run(code)
        assert not result.ok and not result.state_lost, result.for_agent()
        assert result.exception.split(":")[0] in exceptions, result.exception
        assert "launcher" not in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert session.run("print(kept + 1)").stdout == "42\n"
        assert session.restarts == 0
    leaks.assert_clean()


def test_one_shot_code_that_is_not_unicode_is_a_syntax_error_result(sandbox, leaks):
    result = sandbox.run_python(LONE_SURROGATE)
    assert result.exit_code == 1 and "SyntaxError" in result.stderr and "utf-8" in result.stderr, result.for_agent()
    # files and stdin with a lone surrogate reach the program as the bytes they would be on disk
    echoed = sandbox.run_python("import sys\nprint(open('data.txt', 'rb').read(), sys.stdin.buffer.read())",
                                files={"data.txt": "a\ud800"}, stdin="b\udfff")
    assert echoed.stdout == "b'a\\xed\\xa0\\x80' b'b\\xed\\xbf\\xbf'\n", echoed.for_agent()
    leaks.assert_clean()
