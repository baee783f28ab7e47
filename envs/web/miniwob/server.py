"""A loopback HTTP server for the MiniWoB++ task pages shipped in the ``miniwob`` wheel.

One server per process, shared by every :class:`~agentgym.envs.web.miniwob.env.MiniWoBEnv`:
:func:`shared_server` starts it on first use (``127.0.0.1``, a free port, one thread per
request) and closes it when the interpreter exits. A forked child that inherits a started
server gets its own new one (the parent's serving thread does not exist in the child).

The server answers ``GET`` and ``HEAD`` for the files under the wheel's ``html`` folder and
nothing else: no directory listings, no paths outside the folder, no other methods (Python's
:class:`~http.server.SimpleHTTPRequestHandler` resolves ``..`` inside the folder and answers
other methods with 501). Responses are HTTP/1.0, so a browser never parks a connection (and its
handler thread) on the server between page loads.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import threading
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from agentgym.envs.web.page_server import PageServer

__all__ = ["MiniWoBServer", "html_root", "shared_server", "task_url"]


def html_root() -> Path:
    """The ``html`` folder of the installed ``miniwob`` wheel (``miniwob/`` holds the tasks).

    Raises:
        ImportError: the wheel is not installed (``pip install 'agentgym[web]'``).
    """
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the MiniWoB++ task pages come from the 'miniwob' package: "
                          "pip install 'agentgym[web]' (or pip install miniwob)")
    root = Path(next(iter(spec.submodule_search_locations))) / "html"
    if not (root / "miniwob").is_dir() or not (root / "core" / "core.js").is_file():
        raise ImportError(f"the installed 'miniwob' package has no task pages under {root}")
    return root


class _StaticFiles(SimpleHTTPRequestHandler):
    """Files only: a folder answers 404 instead of a listing; text is declared UTF-8 (the pages
    name no charset, and a browser would read them as windows-1252: unicode-test's labels would
    arrive garbled); nothing is logged to stderr."""

    _TEXT_TYPES = ("text/html", "text/css", "text/javascript", "application/javascript", "application/json")

    def guess_type(self, path):  # noqa: D102 (SimpleHTTPRequestHandler's hook)
        kind = super().guess_type(path)
        return f"{kind}; charset=utf-8" if kind in self._TEXT_TYPES else kind

    def list_directory(self, path):  # noqa: D102 (SimpleHTTPRequestHandler's hook)
        self.send_error(404, "no directory listings")
        return None

    def log_message(self, format, *args):  # noqa: A002 (the base class's signature)
        pass


class MiniWoBServer:
    """A threaded static-file server for ``root`` on ``host``, serving from a daemon thread.

    ``base_url`` ends in ``/``; :meth:`task_url` gives a task page's address. :meth:`close`
    stops the thread and frees the port (idempotent).
    """

    def __init__(self, root: Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root) if root is not None else html_root()
        handler = functools.partial(_StaticFiles, directory=str(self.root))
        self._httpd = PageServer((host, port), handler)
        self.host, self.port = self._httpd.server_address[:2]
        self.base_url = f"http://{self.host}:{self.port}/"
        self._closed = False
        self._owner_pid = os.getpid()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"miniwob-http-{self.port}", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def task_url(self, task: str) -> str:
        """The address of ``miniwob/<task>.html`` (the name is checked against the files)."""
        if not isinstance(task, str) or "/" in task or "\\" in task or task.startswith(".") \
                or not (self.root / "miniwob" / f"{task}.html").is_file():
            raise ValueError(f"no MiniWoB++ task page named {task!r} under {self.root / 'miniwob'}")
        return f"{self.base_url}miniwob/{task}.html"

    def close(self) -> None:
        """Stop serving and release the socket; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            if os.getpid() == self._owner_pid:  # a forked child has the socket but not the serving thread
                self._httpd.shutdown()
                self._thread.join(timeout=5)
        except KeyboardInterrupt:  # Ctrl-C again at exit (an atexit hook): stop waiting, the thread is a daemon
            pass
        finally:
            self._httpd.server_close()

    def __enter__(self) -> "MiniWoBServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MiniWoBServer({self.base_url!r}{', closed' if self._closed else ''})"


_lock = threading.Lock()
_shared: MiniWoBServer | None = None
_shared_pid: int | None = None


def shared_server() -> MiniWoBServer:
    """This process's server, started on the first call and closed at interpreter exit."""
    global _shared, _shared_pid
    with _lock:
        if _shared is None or _shared_pid != os.getpid() or _shared.closed:
            _shared = MiniWoBServer()
            _shared_pid = os.getpid()
            atexit.register(_shared.close)
        return _shared


def task_url(task: str) -> str:
    """The shared server's address of a task page, e.g. ``task_url("click-button")``."""
    return shared_server().task_url(task)
