"""The server's memory limit (setting ``memory_limit_mb``).

A leaf module (like ``limits``): the server applies the limit at start, and
the expression and action layers name it when an allocation fails.

The limit is the kernel's ``RLIMIT_DATA`` of the server process: once the
process's private writable memory would pass it, ``malloc`` (and ``mmap``)
fail and Python raises ``MemoryError`` in the thread that asked, instead of
the machine running out of memory. What it counts is address space *reserved*
for data, not only memory in use: each thread's stack counts in full (8 MiB,
the ``ulimit -s`` size, whether used or not), so :func:`apply_limit` refuses
a limit below what the server's own threads reserve.

Linux only (elsewhere ``RLIMIT_DATA`` does not cover ``mmap``).
"""
from __future__ import annotations

import resource
import sys

SETTING_HINT = "setting memory_limit_mb, environment variable LEVANTE_MEMORY_LIMIT_MB"

#: Threads the server may run besides the executor's and the engine's: the
#: API's thread pool (40, AnyIO's default), synchronous run-action calls (8),
#: webhook deliveries (8), and its own (watchdog, scheduler, leases, broker,
#: event loop...), with some margin.
OTHER_THREADS = 72
#: Address space a thread's stack reserves when ``ulimit -s`` is unlimited.
DEFAULT_STACK_BYTES = 8 * 1024 * 1024
MB = 1024 * 1024
#: glibc's mallopt() parameter, and the block size from which malloc maps.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


class LimitError(ValueError):
    """The limit cannot be applied as set; the message says why and what to do."""


def current_limit_mb() -> int | None:
    """The soft ``RLIMIT_DATA`` in MiB, or None when there is none."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_DATA)
    return None if soft == resource.RLIM_INFINITY else soft // MB


def data_in_use_mb() -> int:
    """The process's data address space now (``VmData``), in MiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) // 1024
    raise LimitError("cannot read VmData from /proc/self/status")


def thread_stack_bytes() -> int:
    import threading

    size = threading.stack_size()
    if size:
        return size
    soft, _hard = resource.getrlimit(resource.RLIMIT_STACK)
    return DEFAULT_STACK_BYTES if soft == resource.RLIM_INFINITY else soft


def reserve_mb(worker_threads: int, extra_mb: int = 0) -> int:
    """What the server reserves before any workflow allocates anything: its
    data now, a stack for every thread it may start, and ``extra_mb``."""
    stacks = thread_stack_bytes() * (worker_threads + OTHER_THREADS)
    return data_in_use_mb() + -(-stacks // MB) + extra_mb


def apply_limit(limit_mb: int, worker_threads: int, extra_mb: int = 0,
                extra_what: str = "") -> int | None:
    """Set the soft ``RLIMIT_DATA`` to ``limit_mb`` (0: leave it as it is).

    ``worker_threads``: the executor's and the engine's threads; ``extra_mb``:
    room a part of the server needs on top (``extra_what`` says which, for the
    message). Returns the reserve (MiB) the limit was checked against, or None
    when nothing was set. Raises LimitError when the limit is below that
    reserve, above the hard limit, or the system is not Linux.
    """
    if limit_mb <= 0:
        return None
    if not sys.platform.startswith("linux"):
        raise LimitError("setting memory_limit_mb needs Linux (RLIMIT_DATA); run the server "
                         "under a container or service-manager memory limit instead")
    reserve = reserve_mb(worker_threads, extra_mb)
    if limit_mb < reserve:
        stack = thread_stack_bytes() // MB
        extra = f", and {extra_mb} MB for {extra_what}" if extra_mb else ""
        raise LimitError(
            f"setting memory_limit_mb={limit_mb} is below what the server reserves before any "
            f"workflow runs, about {reserve} MB: {data_in_use_mb()} MB of data now, a "
            f"stack of {stack} MB for each of up to {worker_threads + OTHER_THREADS} threads"
            f"{extra}. Set at least {reserve}, or reserve less: fewer --executor-workers or "
            f"engine_workers, or smaller thread stacks (ulimit -s)")
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    wanted = limit_mb * MB
    if hard != resource.RLIM_INFINITY and wanted > hard:
        raise LimitError(f"setting memory_limit_mb={limit_mb} is above the hard data limit of "
                         f"this process ({hard // MB} MB, ulimit -H -d)")
    resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
    big_blocks_to_mmap()
    return reserve


def big_blocks_to_mmap() -> bool:
    """Make glibc's malloc give every block of 128 KiB or more its own mapping,
    returned to the system when freed. By default the threshold grows with the
    blocks freed, and large freed blocks then stay in the heap of the thread
    that used them, counted against the limit, where other threads cannot
    use them. False when the C library has no ``mallopt``."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def out_of_memory(what: str) -> str:
    """The message of a task that failed because an allocation was refused."""
    limit = current_limit_mb()
    if limit is None:
        return (f"{what} ran out of memory: the system refused an allocation "
                f"(the server has no memory limit of its own; {SETTING_HINT})")
    return (f"{what} ran out of memory: the server's memory limit of {limit} MB was reached "
            f"({SETTING_HINT})")
