"""A conversation's prompt text, with what the environment wrote unable to pass for markup.

A chat template writes a conversation's structure with special tokens (``<|im_start|>``,
``<|im_end|>``, a vision-language model's ``<image>`` placeholder...), and the rendered text is
then tokenised as a whole: the tokenizer turns every occurrence of a special token's text into
that token, wherever the text came from. A web page, a tool's output or a file the agent read
that holds ``<|im_end|>\\n<|im_start|>assistant\\n`` would end the observation and open a turn
in the assistant's name (special-token injection); the placeholder ``<image>`` in a page's text
asks a vision-language processor for an image that is not there, and the request fails.

:func:`render_prompt` renders through :func:`defuse_special_tokens`: in the content of every
message that is not the assistant's (system, user and tool messages: text written by people
and environments), each special token's text gets a WORD JOINER (U+2060, invisible) after its
first character, so it is tokenised as the ordinary text it shows. The assistant's messages are
left alone: the rollout keeps the tokens the model sampled for them, and a reply is rendered as
the model wrote it. Everything that turns messages into prompt tokens -- the policies, the token
transcript, the trainers' recomputation -- renders through :func:`render_prompt`, so the tokens a
policy saw are the tokens a trainer scores. The stored trajectory keeps the text as the
environment wrote it. A server that renders the prompt itself (an OpenAI-compatible endpoint
behind :class:`~agentgym.policies.openai_compat.OpenAIPolicy`) is outside this: its own template
and tokenizer decide.
"""

from __future__ import annotations

import re
import weakref
from typing import Any, Iterable

__all__ = ["WORD_JOINER", "defuse_special_tokens", "render_prompt", "special_token_texts"]

#: What is put after the first character of a special token's text (invisible, no line break).
WORD_JOINER = "\u2060"

#: Processor attributes naming the placeholders a processor expands (some are not marked
#: special in the tokenizer).
_PLACEHOLDER_ATTRIBUTES = ("image_token", "video_token", "audio_token", "boi_token", "eoi_token",
                           "fake_image_token", "global_image_token")


class _Pattern:
    """The special texts of one tokenizer, found in a text (``in`` tests of their first
    characters first: most texts hold none of them, and that test is the cheap one)."""

    def __init__(self, texts: list[str]) -> None:
        self.regex = re.compile("|".join(map(re.escape, texts)))
        self.firsts = sorted({text[0] for text in texts})

    def search(self, text: str) -> bool:
        return any(first in text for first in self.firsts) and self.regex.search(text) is not None

    def sub(self, replace: Any, text: str) -> str:
        return self.regex.sub(replace, text)


_patterns: weakref.WeakKeyDictionary[Any, _Pattern | None] = weakref.WeakKeyDictionary()


def special_token_texts(tokenizer: Any) -> list[str]:
    """The texts ``tokenizer`` turns into special tokens (longest first): its special tokens, its
    added tokens marked special, and, for a multimodal processor, the placeholders it expands.
    Single characters are left out (no joiner can split them). An object without these
    attributes has none."""
    inner = getattr(tokenizer, "tokenizer", None)
    texts: set[str] = set()
    for source in (tokenizer, inner):
        if source is None:
            continue
        texts.update(t for t in (getattr(source, "all_special_tokens", None) or ()) if isinstance(t, str))
        decoder = getattr(source, "added_tokens_decoder", None)
        if isinstance(decoder, dict):
            texts.update(t.content for t in decoder.values()
                         if getattr(t, "special", False) and isinstance(getattr(t, "content", None), str))
    if inner is not None:
        texts.update(t for name in _PLACEHOLDER_ATTRIBUTES if isinstance(t := getattr(tokenizer, name, None), str))
    return sorted((t for t in texts if len(t) > 1), key=lambda t: (-len(t), t))


def _pattern(tokenizer: Any) -> _Pattern | None:
    try:
        return _patterns[tokenizer]
    except (KeyError, TypeError):
        pass
    texts = special_token_texts(tokenizer)
    pattern = _Pattern(texts) if texts else None
    try:
        _patterns[tokenizer] = pattern
    except TypeError:  # an object that takes no weak reference is read again next time
        pass
    return pattern


def _defused(pattern: _Pattern, text: str) -> str:
    return pattern.sub(lambda found: found[0][0] + WORD_JOINER + found[0][1:], text)


def _defused_content(pattern: _Pattern, content: Any) -> Any:
    if isinstance(content, str):
        return _defused(pattern, content) if pattern.search(content) else content
    if not isinstance(content, list):
        return content
    parts = []
    for part in content:
        text = part.get("text") if isinstance(part, dict) and part.get("type") == "text" else None
        if isinstance(text, str) and pattern.search(text):
            part = {**part, "text": _defused(pattern, text)}
        parts.append(part)
    return parts if any(new is not old for new, old in zip(parts, content)) else content


def defuse_special_tokens(tokenizer: Any, messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with every special token's text in non-assistant content split by
    :data:`WORD_JOINER` (see the module docstring). Messages that need no change are the same
    objects; the others are shallow copies (the input is not modified). Text parts of a content
    list are defused, other parts (images) kept."""
    messages = list(messages)
    pattern = _pattern(tokenizer)
    if pattern is None:
        return messages
    out = []
    for message in messages:
        if isinstance(message, dict) and message.get("role") != "assistant" and "content" in message:
            content = _defused_content(pattern, message["content"])
            if content is not message["content"]:
                message = {**message, "content": content}
        out.append(message)
    return out


def render_prompt(tokenizer: Any, messages: Iterable[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                  *, add_generation_prompt: bool = True) -> str:
    """The chat template's text of ``messages`` (and ``tools``, if any), ready for the assistant's
    next turn, with special tokens' texts defused (:func:`defuse_special_tokens`)."""
    kwargs = {"tools": tools} if tools else {}
    return tokenizer.apply_chat_template(defuse_special_tokens(tokenizer, messages), tokenize=False,
                                         add_generation_prompt=add_generation_prompt, **kwargs)
