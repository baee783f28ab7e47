"""The folder whose files an agent's ``upload_file`` may hand a page, and nothing outside it.

A name is a path relative to the folder (``"cv.pdf"``, ``"photos/cat.png"``); it is resolved,
links followed, and refused unless it lands on a file inside the folder -- so ``..``, absolute
paths and links that point elsewhere never reach the page.
"""

from __future__ import annotations

import os
from pathlib import Path

from agentgym.browser.action_parser import BrowserAction

#: How many entries of the folder a refusal's listing looks at, and how many names it shows.
SCANNED_ENTRIES = 1000
LISTED_NAMES = 20


class UploadFolder:
    """The files an environment lets its agent upload.

    Raises:
        ValueError: ``path`` is not a folder.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_dir():
            raise ValueError(f"upload_dir {str(path)!r} is not a folder")

    def find(self, name: str) -> Path | None:
        """The file ``name`` stands for inside the folder, or ``None`` (also for a name no file
        can have: a NUL in it, a name too long, a link loop)."""
        try:
            path = (self.path / name).resolve()
            return path if path.is_relative_to(self.path) and path.is_file() else None
        except (OSError, ValueError, RuntimeError):  # RuntimeError: pathlib's "Symlink loop"
            return None

    def names(self) -> list[str]:
        """The first :data:`LISTED_NAMES` names :meth:`find` accepts, sorted, sub-folders
        included (of the first :data:`SCANNED_ENTRIES` entries of the folder)."""
        names = []
        for _, entry in zip(range(SCANNED_ENTRIES), self.path.rglob("*")):
            name = entry.relative_to(self.path).as_posix()
            if self.find(name) is not None:
                names.append(name)
        return sorted(names)[:LISTED_NAMES]

    def confine(self, action: BrowserAction) -> tuple[BrowserAction, str | None]:
        """``action`` (an upload) with its ``file`` names made paths inside the folder, or, when
        one is refused, ``action`` unchanged and the reason, written for the agent."""
        paths = []
        for name in action.args["file"]:
            path = self.find(name)
            if path is None:
                shown = self.names()
                return action, (f"there is no file {name!r} to upload; the files are: "
                                f"{', '.join(shown) if shown else '(none)'}")
            paths.append(str(path))
        return BrowserAction(action.name, {**action.args, "file": paths}, action.source), None
