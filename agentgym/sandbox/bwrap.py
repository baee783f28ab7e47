"""bubblewrap: is it usable here, and the command line that builds one sandbox.

The sandbox's file system, built by :func:`bwrap_command`:

- ``/usr`` and the top-level ``/bin``, ``/sbin``, ``/lib*`` (as the host has them: symlinks or
  read-only binds), a few files of ``/etc`` the C library and Python read, the Python
  installation's prefixes and any extra paths: all read-only, at their host paths;
- a fresh ``/dev`` and ``/proc`` (of the sandbox's own pid namespace);
- ``/tmp``: a private tmpfs of ``disk_mb``, writable by everyone (mode 1777), also the working
  directory and ``HOME``; ``/dev/shm`` (POSIX shared memory and semaphores: multiprocessing)
  another of the same size;
- nothing else: the rest of the host (home directories, the repository, other temp files) is
  absent, and the sandbox's own root and ``/dev`` (tmpfs that bubblewrap makes without a size,
  owned by the code's user when it is not root) are remounted read-only.

Namespaces: pid, network (only a loopback of its own: no route anywhere), ipc, uts, mount,
cgroup where available. As a normal user bubblewrap needs a user namespace too
(``--unshare-all``). As root it runs without one, and the launcher inside drops to a fresh
unprivileged uid before any code runs (with a user namespace the sandbox's uid would still be
root on the host, which ``RLIMIT_NPROC`` exempts). ``--as-pid-1`` (sessions and commands): the
launcher is the pid namespace's init, so the code cannot signal it and its exit makes the
kernel kill everything else in the sandbox. A one-shot Python program runs in the launcher
itself, under bubblewrap's init. Either way the host ends every sandbox by killing its
namespace's init (a pidfd taken from ``--info-fd``). ``--new-session`` keeps
the code away from the host's terminal. ``--die-with-parent`` fires when the *thread* that
started the sandbox exits: right for one-shot calls (they hold that thread until the sandbox
is gone), wrong for a session (used from any thread, the one that started it may end first),
whose launcher instead watches its control pipe, which closes when the host process dies.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence

from agentgym.sandbox.errors import SandboxUnavailable

INSTALL_COMMAND = "apt-get install -y bubblewrap"
LAUNCHER_DIR = "/.sandbox"  # where the launcher is bound inside the sandbox
WORKDIR = "/tmp"

TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs read at start or from the C library (the dynamic linker's cache, the time
# zone, user and group names, the alternatives' links); nothing for the network (there is none).
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
             "/etc/alternatives")
ALREADY_BOUND = ("/usr", *TOP_LEVEL, "/proc", "/dev")


def privileged() -> bool:
    """bubblewrap runs as root: no user namespace, the launcher drops to a fresh uid."""
    return os.geteuid() == 0


def namespace_args(as_root: bool) -> list[str]:
    if as_root:
        return ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    return ["--unshare-all", "--unshare-user", "--disable-userns"]


def system_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in TOP_LEVEL:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]  # bubblewrap makes parents 0700 as root
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def covered(path: str, by: Iterable[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in by)


def parent_dirs(paths: Iterable[str]) -> list[str]:
    """``--dir`` operations (mode 0755) for the ancestors of ``paths``: bubblewrap would create
    them itself with mode 0700 as root, which the unprivileged sandbox user could not traverse."""
    ancestors: dict[str, None] = {}
    for path in paths:
        parent = os.path.dirname(path)
        chain = []
        while parent not in ("/", ""):
            chain.append(parent)
            parent = os.path.dirname(parent)
        for folder in reversed(chain):
            if folder != WORKDIR and not covered(folder, ALREADY_BOUND):
                ancestors[folder] = None
    args: list[str] = []
    for folder in ancestors:
        args += ["--perms", "0755", "--dir", folder]
    return args


def host_path(path: str) -> str:
    """``path`` absolute and normalised, with a single leading slash: POSIX lets a leading
    ``//`` mean something else, so ``os.path`` keeps it (``dirname('//')`` is ``'//'``)."""
    return "/" + os.path.abspath(path).lstrip("/")


def readonly_mounts(paths: Iterable[str]) -> list[str]:
    """Read-only binds at the same paths, parents first, skipping what the system mounts cover."""
    chosen: list[str] = []
    for path in sorted({host_path(p) for p in paths}, key=len):
        if covered(path, ALREADY_BOUND) or covered(path, chosen):
            continue
        chosen.append(path)
    args = parent_dirs(chosen)
    for path in chosen:
        args += ["--ro-bind", path, path]
    return args


def launcher_argv(python: str, folder: str, ctrl_fds: tuple[int, int]) -> list[str]:
    """``python -I -S -u -c 'import launcher from folder; main()' CTRL_IN CTRL_OUT``: imported
    rather than run as a script so that its cached byte-code is used; ``-u`` (which ``-I`` does
    not take from ``PYTHONUNBUFFERED``): a one-shot program runs in this interpreter, and what
    it printed before it was stopped must not be lost in a buffer."""
    boot = f"import sys; sys.path.insert(0, {folder!r}); import launcher; launcher.main()"
    return [python, "-I", "-S", "-u", "-c", boot, str(ctrl_fds[0]), str(ctrl_fds[1])]


def bwrap_command(bwrap: str, *, launcher_files: Sequence[tuple[str, str]], python: str,
                  readonly_paths: Sequence[str],
                  disk_bytes: int, env: Mapping[str, str], info_fd: int, ctrl_fds: tuple[int, int],
                  as_root: bool, as_pid_1: bool = True, die_with_parent: bool = False) -> list[str]:
    """The full ``bwrap ... python -I -S -u -c <import the launcher> CTRL_IN CTRL_OUT`` command line;
    ``launcher_files``: (host path, sandbox path) of the launcher, then of its byte-code, if any;
    ``as_pid_1``: the launcher is the pid namespace's init; ``die_with_parent``: the sandbox
    dies with the thread that starts it (see the module docstring)."""
    args = [bwrap, *namespace_args(as_root), *(["--as-pid-1"] if as_pid_1 else []),
            *(["--die-with-parent"] if die_with_parent else []), "--new-session",
            "--hostname", "sandbox", "--info-fd", str(info_fd), "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += system_mounts()
    args += ["--dev", "/dev", "--proc", "/proc",
             "--size", str(disk_bytes), "--perms", "1777", "--tmpfs", WORKDIR,
             # bubblewrap's /dev/shm is a folder of its /dev tmpfs (no size: half the host's
             # RAM), the code's own as a normal user, nobody's as root (multiprocessing failed)
             "--size", str(disk_bytes), "--perms", "1777", "--tmpfs", "/dev/shm"]
    args += readonly_mounts(readonly_paths)
    args += parent_dirs([inside for _, inside in launcher_files])
    for index, (host, inside) in enumerate(launcher_files):
        # the launcher, then its byte-code: a cache anyone may remove, bound only if still there
        args += ["--ro-bind" if index == 0 else "--ro-bind-try", host, inside]
    # bubblewrap's root and /dev are tmpfs without a size, the code's own as a normal user: once
    # everything is mounted, read-only (their submounts, /tmp and /dev/shm, stay writable)
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    args += ["--chdir", WORKDIR, "--", *launcher_argv(python, LAUNCHER_DIR, ctrl_fds)]
    return args


def unavailable_message(cause: str) -> str:
    return (f"{cause}. isolation='rlimits' is a weaker alternative, only when asked for explicitly: "
            "resource limits without namespaces (the code sees the network and the host's files).")


@functools.lru_cache(maxsize=None)
def _probe(bwrap: str, as_root: bool) -> str | None:
    """None when bubblewrap works, else the reason it does not."""
    path = shutil.which(bwrap)
    if path is None:
        return (f"bubblewrap is not installed ({bwrap!r} not found): install it with "
                f"`{INSTALL_COMMAND}` as root (`make setup` does this when run as root)")
    command = [path, *namespace_args(as_root), "--new-session", *system_mounts(),
               "--dev", "/dev", "--proc", "/proc", "--tmpfs", WORKDIR, "--", "true"]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin"})
    except OSError as error:
        return f"bubblewrap ({path}) cannot be run: {error}"
    except subprocess.TimeoutExpired:
        return f"bubblewrap ({path}) did not finish a trivial sandbox within 30 s"
    if done.returncode == 0:
        return None
    said = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
    return (f"bubblewrap ({path}) cannot create its namespaces here: it said {said!r}. This happens "
            "inside containers with the default seccomp profile (Docker: --security-opt "
            "seccomp=unconfined) and where unprivileged user namespaces are disabled "
            "(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, AppArmor's "
            "restrict_unprivileged_userns)")


def check_bubblewrap(bwrap: str = "bwrap") -> str:
    """The path of a bubblewrap that can build sandboxes here (checked once per path and
    privilege by running a trivial sandbox); :class:`SandboxUnavailable` naming the cause
    otherwise."""
    as_root = privileged()
    reason = _probe(bwrap, as_root)
    if reason is not None:
        raise SandboxUnavailable(unavailable_message(reason))
    return shutil.which(bwrap) or bwrap
