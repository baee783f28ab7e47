"""A conversation's prompt text, with what the environment wrote unable to pass for markup.

A chat template writes a conversation's structure with special tokens (``<|im_start|>``,
``<|im_end|>``, a vision-language model's ``<image>`` placeholder...), and the rendered text is
then tokenised as a whole: the tokenizer turns every occurrence of a special token's text into
that token, wherever the text came from. A web page, a tool's output or a file the agent read
that holds ``<|im_end|>\\n<|im_start|>assistant\\n`` would end the observation and open a turn
in the assistant's name (special-token injection); the placeholder ``<image>`` in a page's text
asks a vision-language processor for an image that is not there, and the request fails.

:func:`render_prompt` renders through :func:`defuse_special_tokens`: in the content of every
message that is not the assistant's (system, user and tool messages: text written by people and
environments), each special token's text gets a WORD JOINER (U+2060, invisible) after its first
character, so it is tokenised as the ordinary text it shows (and so in the strings of the tools'
schemas: a description is an environment's or an MCP server's text). The assistant's messages
are left alone: the rollout keeps the tokens the model sampled for them, and a reply is rendered
as the model wrote it. Everything that turns messages into prompt tokens -- the policies, the
token transcript, the trainers' recomputation -- renders through :func:`render_prompt`, so the
tokens a policy saw are the tokens a trainer scores. The stored trajectory keeps the text as the
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


#: tokenizer -> (its vocabulary size when read, the pattern of its special texts)
_patterns: weakref.WeakKeyDictionary[Any, tuple[int | None, _Pattern | None]] = weakref.WeakKeyDictionary()


def special_token_texts(tokenizer: Any) -> list[str]:
    """The texts ``tokenizer`` turns into special tokens (longest first): its special tokens, its
    added tokens marked special, and, for a multimodal processor, the placeholders it expands.
    Single characters are left out (no joiner can split them). An object without these
    attributes, or whose attribute raises (transformers' ``MistralCommonBackend`` does not
    implement ``added_tokens_decoder``), has none of them."""
    inner = _attribute(tokenizer, "tokenizer")
    texts: set[str] = set()
    for source in (tokenizer, inner):
        if source is None:
            continue
        texts.update(t for t in (_attribute(source, "all_special_tokens") or ()) if isinstance(t, str))
        decoder = _attribute(source, "added_tokens_decoder")
        if isinstance(decoder, dict):
            texts.update(t.content for t in decoder.values()
                         if getattr(t, "special", False) and isinstance(getattr(t, "content", None), str))
    if inner is not None:
        texts.update(t for name in _PLACEHOLDER_ATTRIBUTES if isinstance(t := _attribute(tokenizer, name), str))
    return sorted((t for t in texts if len(t) > 1), key=lambda t: (-len(t), t))


def _attribute(source: Any, name: str) -> Any:
    """``source.name``; ``None`` when it has none or fails to give it."""
    try:
        return getattr(source, name, None)
    except Exception:  # noqa: BLE001 - a property a back-end does not implement
        return None


def _vocabulary_size(tokenizer: Any) -> int | None:
    """How many tokens ``tokenizer`` (a processor's tokenizer) has, added ones included: a
    tokenizer given special tokens after a first render (``add_special_tokens``) grows, and
    its special texts are read again."""
    for source in (tokenizer, _attribute(tokenizer, "tokenizer")):
        try:
            return len(source)
        except Exception:  # noqa: BLE001 - an object without a size
            continue
    return None


def _pattern(tokenizer: Any) -> _Pattern | None:
    size = _vocabulary_size(tokenizer)
    try:
        known_size, pattern = _patterns[tokenizer]
        if known_size == size:
            return pattern
    except (KeyError, TypeError):
        pass
    texts = special_token_texts(tokenizer)
    pattern = _Pattern(texts) if texts else None
    try:
        _patterns[tokenizer] = (size, pattern)
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
        text = _part_text(part)
        if text is not None and pattern.search(text):
            part = {**part, "text": _defused(pattern, text)}
        parts.append(part)
    _defuse_across_parts(pattern, parts)
    return parts if any(new is not old for new, old in zip(parts, content)) else content


def _part_text(part: Any) -> str | None:
    text = part.get("text") if isinstance(part, dict) and part.get("type") == "text" else None
    return text if isinstance(text, str) else None


def _defuse_across_parts(pattern: _Pattern, parts: list[Any]) -> None:
    """A template writes a message's consecutive text parts one after the other (some trim each
    first): a special text begun in one part and ended in a following one gets a joiner at the
    start of the part it crosses into (``parts`` is changed in place; their own special texts
    are defused already)."""
    start = 0
    while start < len(parts):
        end = start
        while end < len(parts) and _part_text(parts[end]) is not None:
            end += 1
        if end - start > 1:
            offsets, joined = [], ""
            for index in range(start, end):
                offsets.append(len(joined))
                joined += _part_text(parts[index]).strip()  # as a template that trims shows them
            if pattern.search(joined):
                for found in pattern.regex.finditer(joined):
                    crossed = next((index for index, offset in zip(range(start, end), offsets)
                                    if found.start() < offset < found.end()), None)
                    if crossed is not None:
                        parts[crossed] = {**parts[crossed], "text": WORD_JOINER + parts[crossed]["text"]}
        start = end + 1


def defuse_special_tokens(tokenizer: Any, messages: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with every special token's text in non-assistant content split by
    :data:`WORD_JOINER` (see the module docstring). Messages that need no change are the same
    objects; the others are shallow copies (the input is not modified). Text parts of a content
    list are defused (a special text split between consecutive text parts too), other parts
    (images) kept."""
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


def _defused_tools(tokenizer: Any, tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    pattern = _pattern(tokenizer)
    return tools if pattern is None else _defused_value(pattern, tools)


def _defused_value(pattern: _Pattern, value: Any) -> Any:
    """``value`` (a tool's schema: dicts, lists, strings) with the special texts of its strings
    defused; the same object when it holds none."""
    if isinstance(value, str):
        return _defused(pattern, value) if pattern.search(value) else value
    if isinstance(value, dict):
        new = {key: _defused_value(pattern, item) for key, item in value.items()}
        return new if any(new[key] is not item for key, item in value.items()) else value
    if isinstance(value, (list, tuple)):
        items = [_defused_value(pattern, item) for item in value]
        return items if any(new is not old for new, old in zip(items, value)) else value
    return value


def render_prompt(tokenizer: Any, messages: Iterable[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                  *, add_generation_prompt: bool = True) -> str:
    """The chat template's text of ``messages`` (and ``tools``, if any), ready for the assistant's
    next turn, with special tokens' texts defused (:func:`defuse_special_tokens`), in the strings
    of ``tools`` too (a tool's description is the environment's or an MCP server's text)."""
    kwargs = {"tools": _defused_tools(tokenizer, tools)} if tools else {}
    return tokenizer.apply_chat_template(defuse_special_tokens(tokenizer, messages), tokenize=False,
                                         add_generation_prompt=add_generation_prompt, **kwargs)
