"""Tools an environment offers to an agent.

A :class:`Tool` is a Python function with a name, a description and a JSON schema for its
arguments. Write it as a typed, documented function and :func:`tool` reads the schema from the
signature and the docstring::

    from agentgym.tools import tool

    @tool(timeout=5.0)
    def lookup(word: str, limit: int = 3) -> list[str]:
        \"\"\"Look a word up in the dictionary.

        Args:
            word: the word to look up.
            limit: how many senses to return.
        \"\"\"

Tools that share per-episode state (a sandbox process, a database connection, an MCP session)
are the ``@tool`` methods of a :class:`Toolset`, opened at ``reset`` and closed when the
episode ends. An environment declares both::

    class Quiz(LLMEnv):
        tools = (lookup,)              # static tools
        toolsets = (Notes,)            # each environment gets its own Notes()

``reset`` reports every schema in ``info["tools"]`` (OpenAI function format, which chat
templates and OpenAI-compatible servers understand); the
:class:`~agentgym.wrappers.ToolCalling` wrapper — added by ``agentgym.make`` to every
environment that has tools — reads the agent's calls in the environment's
``tool_call_formats`` (:mod:`agentgym.tools.formats`: Hermes ``<tool_call>`` JSON, OpenAI
``tool_calls``, ``<python>``, fenced code, ``<sql>``, ``<search>``...) and runs them with
:meth:`LLMEnv.call_tool <agentgym.core.LLMEnv.call_tool>`: arguments checked against the
schema (types included), injected arguments filled, the per-call timeout kept, the result
rendered as text, every failure an ``Error: ...`` observation.

Modules: :mod:`~agentgym.tools.tool` (``Tool``, ``tool``), :mod:`~agentgym.tools.schema`
(signature and docstring to schema, ``Injected``), :mod:`~agentgym.tools.arguments` (argument
checks), :mod:`~agentgym.tools.toolset` (``Toolset``), :mod:`~agentgym.tools.invoke` (running a
call), :mod:`~agentgym.tools.formats` and :mod:`~agentgym.tools.calls` (reading calls),
:mod:`~agentgym.tools.stats` (per-episode statistics), :mod:`~agentgym.tools.host` (the tool
half of ``LLMEnv``), :mod:`~agentgym.tools.loop_thread` (the loop async toolsets run on), and
MCP servers as a toolset: :mod:`~agentgym.tools.mcp` (``MCPToolset``),
:mod:`~agentgym.tools.mcp_connection` (one server process and its session),
:mod:`~agentgym.tools.mcp_convert` (schemas and results between MCP and agentgym).
"""

from agentgym.tools.calls import ParsedAction, ToolCall
from agentgym.tools.formats import (
    DEFAULT_FORMATS,
    FORMATS,
    FencedCodeFormat,
    FormatMatch,
    HermesFormat,
    OpenAIMessageFormat,
    TagFormat,
    ToolCallFormat,
    parse_action,
    resolve_formats,
)
from agentgym.tools.invoke import ToolOutcome, ainvoke, invoke
from agentgym.tools.mcp import MCPToolset  # noqa: F401  (an MCP server's tools; needs agentgym[mcp] to open)
from agentgym.tools.schema import INJECTED, Injected
from agentgym.tools.tool import Tool, ToolArgumentError, ToolError, render_result, tool
from agentgym.tools.python_sandbox import PythonSandbox  # noqa: F401  (the sandboxed-interpreter toolset)
from agentgym.tools.toolset import Toolset

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "FencedCodeFormat",
    "FormatMatch",
    "HermesFormat",
    "INJECTED",
    "Injected",
    "OpenAIMessageFormat",
    "ParsedAction",
    "TagFormat",
    "Tool",
    "ToolArgumentError",
    "ToolCall",
    "ToolCallFormat",
    "ToolError",
    "ToolOutcome",
    "Toolset",
    "ainvoke",
    "invoke",
    "parse_action",
    "render_result",
    "resolve_formats",
    "tool",
]
