"""Output capture with a cap enforced while reading: never more than the cap in memory."""

from __future__ import annotations

import codecs


class CappedOutput:
    """Text of one stream, capped at ``limit`` characters: the first three quarters are kept as
    they arrive, then a rolling tail of the last quarter; what falls in between is only counted.

    The bytes are decoded as they arrive (UTF-8, invalid bytes replaced; a character split
    between two reads is decoded whole), so the cap counts characters, as
    ``SandboxLimits.output_chars`` says. ``total`` counts the bytes fed, ``omitted`` the
    characters left out. ``text()`` is the kept text, with a marker saying how many characters
    were left out between the head and the tail (a character cut off at the end of the stream
    is one replacement character)."""

    def __init__(self, limit: int) -> None:
        if limit < 4:
            raise ValueError(f"limit must be at least 4 characters, got {limit}")
        self.head_limit = limit - limit // 4
        self.tail_limit = limit // 4
        self.head = ""
        self.tail = ""
        self.total = 0
        self.omitted = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        self._add(self._decoder.decode(data))

    def _add(self, text: str) -> None:
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += text[:room]
            text = text[room:]
        if not text:
            return
        if len(text) >= self.tail_limit:
            self.omitted += len(self.tail) + len(text) - self.tail_limit
            self.tail = text[len(text) - self.tail_limit:] if self.tail_limit else ""
            return
        self.tail += text
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            self.tail = self.tail[excess:]
            self.omitted += excess

    @property
    def truncated(self) -> bool:
        return self.omitted > 0

    def text(self) -> str:
        self._add(self._decoder.decode(b"", True))  # the bytes of a character cut off at the end
        if not self.omitted:
            return self.head + self.tail
        return self.head + f"\n[... {self.omitted:,} characters of output omitted ...]\n" + self.tail
