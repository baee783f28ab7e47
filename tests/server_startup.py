"""Reading where a server started by a CLI command in a child process listens."""

from __future__ import annotations

import queue
import re
import subprocess
import threading


def url_from_startup_line(process: subprocess.Popen, timeout: float) -> str:
    """The server's root URL (``http://127.0.0.1:<port>``, the port picked by the OS), read from
    the ``running on ...`` line the command writes to its stderr (a text pipe). Fails with what
    the process said when it exits first or says nothing for ``timeout`` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    seen = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the server did not start; it said: {''.join(seen)}") from None
        seen.append(line)
        match = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if match:
            return match.group(1)
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}: {''.join(seen)}")
