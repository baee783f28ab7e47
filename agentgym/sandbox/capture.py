"""Output capture with a cap enforced while reading: never more than the cap in memory."""

from __future__ import annotations


class CappedOutput:
    """Bytes of one stream, capped at ``limit`` bytes: the first three quarters are kept as they
    arrive, then a rolling tail of the last quarter; what falls in between is only counted.

    ``text()`` decodes the kept bytes (UTF-8, invalid bytes replaced) and puts a marker saying
    how many bytes were left out between the head and the tail."""

    def __init__(self, limit: int) -> None:
        if limit < 4:
            raise ValueError(f"limit must be at least 4 bytes, got {limit}")
        self.head_limit = limit - limit // 4
        self.tail_limit = limit // 4
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.omitted = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        if len(data) >= self.tail_limit:
            self.omitted += len(self.tail) + len(data) - self.tail_limit
            self.tail = bytearray(data[len(data) - self.tail_limit:]) if self.tail_limit else bytearray()
            return
        self.tail += data
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            del self.tail[:excess]
            self.omitted += excess

    @property
    def truncated(self) -> bool:
        return self.omitted > 0

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if not self.omitted:
            return head + self.tail.decode("utf-8", "replace")
        return (head + f"\n[... {self.omitted:,} bytes of output omitted ...]\n"
                + self.tail.decode("utf-8", "replace"))
