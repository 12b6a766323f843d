"""Host arrays laid out for the device."""

from __future__ import annotations

from typing import Any

import numpy as np


def aligned_empty(n: int, dtype: Any) -> np.ndarray:
    """An uninitialised 1-D array that starts on a 64-byte boundary: JAX on the CPU
    shares such an array's memory instead of copying it (NumPy's large arrays start
    16 bytes into a page, and are copied)."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.empty(n * itemsize + 64, np.uint8)
    offset = (-raw.ctypes.data) % 64
    return raw[offset : offset + n * itemsize].view(dtype)
