"""Call formats read what models write: CRLF line ends, indented fences, JSON past Python's limits."""

from agentgym.tools.formats import PYTHON_FENCED


def code_of(text):
    match = PYTHON_FENCED.find(text)
    assert match is not None and match.error is None, match
    return [call.arguments["code"] for call in match.calls]


def test_windows_line_ends_are_read_as_line_ends():
    assert code_of("Let me run it:\r\n```python\r\nx = 1\r\nprint(x)\r\n```\r\nDone.") == ["x = 1\nprint(x)"]
    assert code_of("```py \r\nprint(2)\r\n```") == ["print(2)"]


def test_an_indented_block_loses_its_fence_indentation_only():
    text = "1. Compute it:\n   ```python\n   def f():\n       return 2\n   print(f())\n   ```\n2. Read the output."
    assert code_of(text) == ["def f():\n    return 2\nprint(f())"]
    assert code_of("```python\n    x = 1\n```") == ["    x = 1"]  # no fence indentation: kept as written


def test_other_languages_and_unclosed_blocks_keep_their_meaning():
    assert PYTHON_FENCED.find("```bash\r\nls\r\n```") is None
    assert PYTHON_FENCED.find("```python\r\nx = 1\r\n").error.startswith("unclosed ```python block")


def test_an_integer_past_pythons_limit_is_explained_without_pythons_advice():
    from agentgym.tools.formats import HERMES

    digits = "1" * 5000
    for arguments in (f'{{"x": {digits}}}', f'"{{\\"x\\": {digits}}}"'):  # an object, a JSON string
        match = HERMES.find(f'<tool_call>\n{{"name": "f", "arguments": {arguments}}}\n</tool_call>')
        assert "value has 5000 digits" in match.error and "sys.set_int_max_str_digits" not in match.error
    nested = HERMES.find('<tool_call>\n{"name": "f", "arguments": ' + "[" * 100_000 + "]" * 100_000 + "}\n</tool_call>")
    assert "nested too deeply" in nested.error
