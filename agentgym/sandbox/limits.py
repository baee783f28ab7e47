"""Resource limits of one sandboxed execution."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

MB = 1024 * 1024
# Processes the sandbox itself runs under the code's uid and ``RLIMIT_NPROC`` therefore counts:
# the supervisor (monitor or session runner), its watchdog thread and bubblewrap's init.
SUPERVISOR_TASKS = 3
# Limits that count things: whole numbers (a whole float, 2e4, is taken as the int)
COUNTS = ("processes", "open_files", "output_chars")


@dataclass(frozen=True)
class SandboxLimits:
    """What one call may use. Every call gets all of it afresh (a session's calls included).

    - ``cpu_seconds``: CPU time per process (``RLIMIT_CPU``; SIGXCPU, then SIGKILL a second
      later). In a session it is a budget per call, raised as an exception in the cell.
    - ``memory_mb``: address space per process (``RLIMIT_AS``): allocations past it fail
      (``MemoryError`` in Python). Per process, so ``processes`` processes could each use it.
    - ``processes``: processes and threads the code may run at once (``RLIMIT_NPROC``, counted
      for this sandbox alone: a fresh uid or user namespace per sandbox).
    - ``file_size_mb``: largest file the code may write (``RLIMIT_FSIZE``).
    - ``open_files``: file descriptors per process (``RLIMIT_NOFILE``).
    - ``wall_seconds``: wall-clock time per call; past it everything in the sandbox is killed
      (a session restarts, losing its variables).
    - ``output_chars``: characters of stdout, and separately of stderr, that the result keeps:
      the head and the tail, with a marker saying how much was left out in between.
    - ``output_stop_mb``: bytes written to stdout and stderr together after which the call is
      killed (output past ``output_chars`` is read and thrown away until then).
    - ``disk_mb``: size of the private writable ``/tmp``, and of ``/dev/shm`` (tmpfs: they
      count in RAM, not in ``memory_mb``). The weaker ``rlimits`` mode cannot bound them.

    ``processes``, ``open_files`` and ``output_chars`` are whole numbers (``2e4`` is taken as
    ``20000``, ``1000.5`` is a ``ValueError``); the others may have a fraction. Any real number
    is taken (``numpy.int64``, ``Fraction``), kept as Python's ``int`` or ``float``.
    """

    cpu_seconds: float = 10.0
    memory_mb: int = 1024
    processes: int = 64
    file_size_mb: int = 64
    open_files: int = 256
    wall_seconds: float = 30.0
    output_chars: int = 20_000
    output_stop_mb: int = 64
    disk_mb: int = 256

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"SandboxLimits.{name} must be a number, got {value!r}")
            value = int(value) if isinstance(value, numbers.Integral) else float(value)
            object.__setattr__(self, name, value)  # numpy.int64(512) is 512, numpy.float64(5) 5.0
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"SandboxLimits.{name} must be positive and finite, got {value!r}")
        for name in COUNTS:  # 2e4 from a config is 20000; 1000.5 characters is no count
            value = getattr(self, name)
            if value != int(value):
                raise ValueError(f"SandboxLimits.{name} must be a whole number, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.cpu_seconds < 1:
            raise ValueError(f"SandboxLimits.cpu_seconds must be at least 1 (the kernel counts whole "
                             f"seconds), got {self.cpu_seconds!r}")
        if self.memory_mb < 64:
            raise ValueError(f"SandboxLimits.memory_mb must be at least 64 (a Python interpreter needs "
                             f"about 30 MB of address space), got {self.memory_mb!r}")
        if self.open_files < 16:
            raise ValueError(f"SandboxLimits.open_files must be at least 16, got {self.open_files!r}")
        if self.output_chars < 100:
            raise ValueError(f"SandboxLimits.output_chars must be at least 100, got {self.output_chars!r}")

    @property
    def output_stop_bytes(self) -> int:
        return int(self.output_stop_mb * MB)

    def for_launcher(self) -> dict[str, Any]:
        """The numbers the in-sandbox launcher applies (see ``launcher.apply_limits``)."""
        return {"cpu_seconds": max(1, math.ceil(self.cpu_seconds)),
                "memory_bytes": int(self.memory_mb * MB),
                "file_size_bytes": int(self.file_size_mb * MB),
                "open_files": int(self.open_files),
                "processes": int(self.processes) + SUPERVISOR_TASKS,
                "output_chars": int(self.output_chars)}
