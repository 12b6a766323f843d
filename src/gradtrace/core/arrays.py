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


def to_device(a: Any, dtype: Any) -> Any:
    """A NumPy array on the default device, shared rather than copied where it can
    be: on the CPU, JAX takes a C-contiguous array of the right dtype that starts on
    a 64-byte boundary without copying it (Arrow's buffers do; NumPy's large arrays
    start 16 bytes into a page). Anything else is copied once, into such an array;
    a JAX array of that dtype is returned as it is."""
    import jax  # here: reading data (``aligned_empty``) needs NumPy only

    if isinstance(a, jax.Array) and a.dtype == dtype:
        return a
    arr = np.asarray(a)
    if jax.default_backend() != "cpu":
        # copied to the device anyway: in the dtype asked for (JAX 0.11 on a GPU
        # put a float64 array as a float64 buffer under a float32 type when x64
        # was off, which the compiled steps then refused)
        return jax.device_put(arr.astype(dtype, copy=False))
    if arr.size and (
        arr.dtype != dtype or not arr.flags.c_contiguous or arr.ctypes.data % 64
    ):
        out = aligned_empty(arr.size, dtype).reshape(arr.shape)
        out[...] = arr
        arr = out
    return jax.device_put(arr)
