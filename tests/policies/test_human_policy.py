"""HumanPolicy shows each request's last message and answers with what the person typed: text,
text parts of a multimodal message, and a message with no text (an assistant turn of tool calls
only, content None or absent; a TypeError/KeyError before)."""

from __future__ import annotations

import io

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.human import HumanPolicy


def test_the_last_message_is_shown_and_the_typed_line_is_the_reply():
    typed = iter(["guess 5", "left", "ok", "fine"])
    shown = io.StringIO()
    policy = HumanPolicy(read=lambda prompt: next(typed), out=shown)
    requests = [Request([{"role": "user", "content": "Guess a number."}]),
                Request([{"role": "user", "content": [{"type": "text", "text": "Where?"}, {"type": "image"}]}]),
                Request([{"role": "assistant", "content": None, "tool_calls": []}]),
                Request([{"role": "assistant"}])]
    replies = policy.generate(requests, SamplingParams())
    assert [reply.text for reply in replies] == ["guess 5", "left", "ok", "fine"]
    assert "Guess a number." in shown.getvalue() and "Where?" in shown.getvalue()
