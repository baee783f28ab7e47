"""The token sequence of one multi-turn conversation, grown turn by turn.

Token-exact training needs, for every turn, the tokens the policy sampled and the tokens that
were appended before its next turn, such that

    prompt(t+1) == prompt(t) + generated(t) + appended(t)

holds *exactly*. Re-tokenising the whole conversation each turn breaks this in practice: a
sampled token sequence is rarely the canonical tokenisation of its text, and chat templates
add text after an assistant message that the model may or may not have sampled (an
end-of-turn token, a newline). So the transcript never re-tokenises what was generated.
Instead, each turn it renders the conversation with the chat template twice — before and
after the new messages — and tokenises only the *difference*:

1. ``before = render(messages(t), add_generation_prompt=True)`` is the text of prompt(t);
2. ``after = render(messages(t+1), add_generation_prompt=True)`` where messages(t+1) adds the
   assistant message (the generated text) and the new observation / tool messages;
3. ``after`` must start with ``before + generated text``; the rest — the template's end of
   the assistant turn (minus what the model already sampled, e.g. its end-of-turn token), the
   next user or tool message and the next generation prompt — is tokenised on its own and
   appended.

A template that trims the reply (Llama 3's ``| trim``) renders it without the whitespace the
model sampled around it; that whitespace stays in the sampled tokens and the rest is appended
after them, as in step 3. Whitespace a template writes around the reply itself (Mistral v0.3's
``" " + content|trim + eos_token``, Llama 2's ``' ' + content.strip() + ' ' + eos_token``) is
left out alike. The sequence then differs from the canonical rendering by that whitespace,
which is drift, not a mismatch. When the template rewrites history (``after`` does
not extend ``before``; e.g. templates that drop earlier reasoning), the turn falls back to the
canonical tokenisation of ``after``: the prefix property is broken at that turn, which is
counted in ``mismatches`` and makes the transcript not token-exact — a trainer must refuse it.

Separately, ``retokenization_drift`` counts turns where the exact sequence differs from the
canonical tokenisation of the rendered conversation; that is expected and harmless (it is why
the transcript exists) and is reported for diagnosis only.

**Images.** When ``tokenizer`` is a vision-language model's processor (an object with an
``image_processor`` and a ``tokenizer``: what :class:`~agentgym.policies.hf_vision.HFVisionPolicy`
gives as its tokenizer), messages may hold image parts ``{"type": "image", "image": <array>}``.
The chat template renders each as the family's placeholder (e.g. ``<|image_pad|>``), and every
text that holds placeholders is tokenised by the processor together with *its* images -- the
image parts of the messages it renders, in order -- which expands each placeholder into the
tokens the image fills (:func:`encode_text`). So the difference appended at a turn is tokenised
with the images of the new messages only, and the token ids hold every image's tokens exactly
once, in the order of :attr:`TokenTranscript.images`. The drift diagnostic is not computed once
the conversation holds images (it would process every image of the conversation again, each
turn). With a plain tokenizer, image parts are left to its chat template, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal

from agentgym.rollout.prompt_text import render_prompt, special_token_texts

_SURROGATE = re.compile("[\ud800-\udfff]")
#: Image-processor keyword reading every image as ``H x W x channels``: transformers otherwise
#: guesses, and takes an image 1 or 3 pixels tall for channels-first.
CHANNELS_LAST = {"input_data_format": "channels_last"}

SpanKind = Literal["prompt", "action", "observation"]


@dataclass(frozen=True)
class Span:
    """Tokens ``[start, end)`` of the transcript, of one kind."""

    kind: SpanKind
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class TokenTranscript:
    """Token ids and spans of a conversation; see the module docstring.

    Args:
        tokenizer: a Hugging Face tokenizer with a chat template.
        messages: the conversation so far (system prompt and first user message).
        tools: tool schemas the template should render, if any.
    """

    tokenizer: Any
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float | None] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    mismatches: int = 0
    retokenization_drift: int = 0
    images: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.messages = list(self.messages)
        self._multimodal = is_processor(self.tokenizer)
        self._rendered = self._render(self.messages)
        self.images = self._images(self.messages)
        self.token_ids = self._encode(self._rendered, self.images)
        self.logprobs = [None] * len(self.token_ids)
        self.spans = [Span("prompt", 0, len(self.token_ids))]
        self._pending_text: str | None = None
        self._special_ids: set[int] | None = None  # read at the first reply that needs them

    # ------------------------------------------------------------------ turns
    @property
    def prompt_ids(self) -> list[int]:
        """The exact tokens to give the policy now."""
        return list(self.token_ids)

    @property
    def token_exact(self) -> bool:
        return self.mismatches == 0

    def add_generation(self, token_ids: list[int], logprobs: list[float] | None, text: str) -> Span:
        """Append what the policy sampled (every token, its end-of-turn token included)."""
        if self._pending_text is not None:
            raise RuntimeError("add_observation() must follow add_generation() before the next generation")
        start = len(self.token_ids)
        self.token_ids.extend(token_ids)
        self.logprobs.extend(logprobs if logprobs is not None else [None] * len(token_ids))
        span = Span("action", start, len(self.token_ids))
        self.spans.append(span)
        self._pending_text = text
        self._generated = list(token_ids)
        return span

    def add_observation(self, new_messages: list[dict[str, Any]], assistant_message: dict[str, Any] | None = None) -> Span:
        """Append the end of the assistant turn, ``new_messages`` and the next generation prompt.

        ``assistant_message`` defaults to ``{"role": "assistant", "content": <generated text>}``.
        """
        if self._pending_text is None:
            raise RuntimeError("add_observation() needs a preceding add_generation()")
        assistant = assistant_message or {"role": "assistant", "content": self._pending_text}
        return self._advance([*self.messages, assistant, *new_messages], [assistant, *new_messages])

    def add_conversation(self, messages: list[dict[str, Any]]) -> Span:
        """As :meth:`add_observation`, given the whole conversation as it is now: the conversation
        so far, then the assistant message and the new messages. A conversation that does not
        continue the one so far (a context budget shortened or dropped earlier turns) is the
        rewritten history of the module docstring: the turn falls back to the canonical tokens
        of ``messages``, and the mismatch is counted."""
        if self._pending_text is None:
            raise RuntimeError("add_conversation() needs a preceding add_generation()")
        messages = list(messages)
        return self._advance(messages, messages[len(self.messages):])

    def _advance(self, messages: list[dict[str, Any]], new_messages: list[dict[str, Any]]) -> Span:
        """The conversation is now ``messages``, ``new_messages`` (the assistant message and what
        followed it) at its end unless the history was rewritten."""
        text, generated = self._pending_text, self._generated
        self._pending_text = None
        before = self._rendered
        self.messages = messages
        after = self._render(self.messages)
        appended = self._appended_text(before, after, generated, text)
        start = len(self.token_ids)
        if appended is None:
            # The template rewrote history: fall back to the canonical tokens. The prefix
            # property no longer holds, and the transcript says so.
            self.mismatches += 1
            self.images = self._images(self.messages)
            canonical = self._encode(after, self.images)
            self.token_ids = canonical
            self.logprobs = (self.logprobs + [None] * len(canonical))[: len(canonical)]
            span = Span("observation", start, len(canonical))
        else:
            new_images = self._images(new_messages)
            self.token_ids.extend(self._encode(appended, new_images))
            self.images += new_images
            self.logprobs.extend([None] * (len(self.token_ids) - start))
            span = Span("observation", start, len(self.token_ids))
            if not self.images and self.token_ids != self._encode(after, []):
                self.retokenization_drift += 1
        self._rendered = after
        self.spans.append(span)
        return span

    def loss_mask(self) -> list[int]:
        """1 on tokens the policy generated, 0 on prompt and observation tokens."""
        mask = [0] * len(self.token_ids)
        for span in self.spans:
            if span.kind == "action":
                mask[span.start: span.end] = [1] * len(span)
        return mask

    # --------------------------------------------------------------- helpers
    def _render(self, messages: list[dict[str, Any]]) -> str:
        """The conversation through the chat template. A text tokenizer's template that takes
        image parts (a vision model's, drawing its placeholder) renders them; one that cannot
        fails, and the error says why rather than the template's own words."""
        try:
            return render_prompt(self.tokenizer, messages, self.tools)
        except Exception as exc:
            if self._multimodal or not has_image_parts(messages):
                raise
            raise ValueError(f"the conversation holds images, which this text-only tokenizer's chat template "
                             f"cannot render ({type(exc).__name__}: {exc}): play it with a vision policy (a "
                             f"processor, e.g. HFVisionPolicy), or use the environment's text view") from exc

    def _encode(self, text: str, images: list[Any]) -> list[int]:
        return encode_text(self.tokenizer, text, images)

    def _images(self, messages: list[dict[str, Any]]) -> list[Any]:
        return message_images(messages) if self._multimodal else []

    def _appended_text(self, before: str, after: str, generated: list[int], text: str) -> str | None:
        """The text to tokenise after the generated tokens, or ``None`` if ``after`` does not
        extend ``before`` with the generated text."""
        if not after.startswith(before):
            return None
        rest = after[len(before):]
        sampled = self.tokenizer.decode(generated, skip_special_tokens=False)
        # The model sampled its end-of-turn token: the template's copy of it is already there.
        if rest.startswith(sampled):
            return rest[len(sampled):]
        # Cut by max_tokens (no end-of-turn token), special tokens rendered differently, or a
        # special token sampled inside the reply (the text leaves special tokens out, and so does
        # the template's rendering of it): the template's end of turn follows the text, less the
        # special tokens the model sampled last where the template's end of turn begins with them.
        if rest.startswith(text):
            return self._less_sampled_end(rest[len(text):], generated)
        # A template that trims the reply (Llama 3's ``message['content'] | trim``) renders it
        # without the whitespace the model sampled around it, which stays in the sampled tokens;
        # one that writes whitespace of its own around the reply (Mistral v0.3's
        # ``" " + message["content"]|trim + eos_token``: a SentencePiece model samples that space
        # inside its first token, whose text decodes without it) has it only in the rendering.
        # Either way what follows the reply is appended, less the end-of-turn token already sampled
        # (or, with special tokens sampled inside the reply, less those it ends with, as above).
        trimmed, body = text.strip(), rest.lstrip()
        if not body.startswith(trimmed):
            return None
        rest = body[len(trimmed):]
        if not sampled.startswith(text):
            return self._less_sampled_end(rest, generated)
        end_of_turn = sampled[len(text):]
        if end_of_turn and rest.lstrip().startswith(end_of_turn):
            return rest.lstrip()[len(end_of_turn):]
        return rest

    def _less_sampled_end(self, rest: str, generated: list[int]) -> str:
        """``rest`` without the longest run of special tokens that ends ``generated`` (e.g. its
        end-of-turn token) that ``rest`` begins with: those tokens are in the transcript already.
        Special tokens are the tokenizer's and its added tokens marked special (Gemma's
        ``<end_of_turn>`` is not its EOS, and may be missing from ``all_special_ids``)."""
        special = self._special_token_ids()
        trailing = 0
        while trailing < len(generated) and generated[len(generated) - trailing - 1] in special:
            trailing += 1
        for count in range(trailing, 0, -1):
            end = self.tokenizer.decode(generated[len(generated) - count:], skip_special_tokens=False)
            if end and rest.startswith(end):
                return rest[len(end):]
        return rest

    def _special_token_ids(self) -> set[int]:
        """The ids of the tokenizer's special tokens and its added tokens marked special (read
        once per transcript)."""
        if self._special_ids is None:
            tokenizer = self.tokenizer.tokenizer if self._multimodal else self.tokenizer
            self._special_ids = set(tokenizer.all_special_ids)
            self._special_ids.update(tokenizer.convert_tokens_to_ids(special_token_texts(tokenizer)))
        return self._special_ids


def is_processor(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` is a multimodal processor (it has an image processor and a tokenizer)."""
    return getattr(tokenizer, "image_processor", None) is not None and getattr(tokenizer, "tokenizer", None) is not None


def has_image_parts(messages: Iterable[dict[str, Any]]) -> bool:
    """Whether any message's content is a list holding an image part (of any form)."""
    return any(isinstance(part, dict) and part.get("type") in ("image", "image_url", "input_image")
               for message in messages if isinstance(message, dict) and isinstance(message.get("content"), list)
               for part in message["content"])


def message_images(messages: Iterable[dict[str, Any]]) -> list[Any]:
    """The images of ``messages``' image parts (``{"type": "image", "image": ...}``), in order.

    An image part without its pixels (e.g. a stored reference that was not loaded), or in
    OpenAI's form (``image_url``, a URL or data URL), is a ``ValueError``: its tokens could not
    be matched to an image."""
    images = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, dict) and part.get("type") == "image":
                if part.get("image") is None:
                    raise ValueError(f"an image part without its pixels (keys {sorted(part)})")
                images.append(part["image"])
            elif isinstance(part, dict) and part.get("type") in ("image_url", "input_image"):
                # OpenAI's form: a chat template draws a placeholder for it, with no pixels to match
                raise ValueError(f"an image part of type {part['type']!r} (OpenAI's form): give the pixels "
                                 f"as {{'type': 'image', 'image': array}}")
    return images


def encode_text(tokenizer: Any, text: str, images: Iterable[Any] = ()) -> list[int]:
    """The token ids of ``text``, no special tokens added. With a processor and ``images``, the
    processor expands each image placeholder of ``text`` into the tokens of its image (the
    images in the order of the placeholders; each made ``H x W x 3`` by
    :func:`agentgym.images.as_rgb` and read channels-last, as the policy's model inputs are);
    otherwise the (processor's) tokenizer encodes it.

    Text that is not valid unicode -- a lone surrogate, as a JSON file's broken ``\\ud800``
    escape gives -- is encoded as U+FFFD, the replacement character, in its place (tokenizers
    refuse it); a high and a low surrogate that follow each other are the one character they
    encode."""
    text = valid_unicode(text)
    images = list(images)
    if not is_processor(tokenizer):
        return list(tokenizer.encode(text, add_special_tokens=False))
    if not images:
        return list(tokenizer.tokenizer.encode(text, add_special_tokens=False))
    from agentgym.images import as_rgb

    encoded = tokenizer(text=[text], images=[as_rgb(image) for image in images], add_special_tokens=False,
                        **CHANNELS_LAST)
    return [int(token) for token in encoded["input_ids"][0]]


def valid_unicode(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD and each surrogate pair joined into
    its character (``text`` itself when it holds no surrogate)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
