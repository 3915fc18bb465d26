"""Giving freed memory back to the operating system, so long scans keep a flat RSS."""

from __future__ import annotations


def release_memory() -> None:
    """Hand freed memory back to the OS (glibc's malloc_trim). Without it glibc's heap keeps
    every freed transformer buffer: a worker's RSS grew from 1.0 GB to 1.8 GB over 40,000
    messages; trimmed after each chunk it stayed near 1.0 GB at the same speed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        pass
