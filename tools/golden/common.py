"""Shared helpers for graft's golden-data generators.

Run with Debian's interpreter and PyTorch (apt-get install python3-torch):
    /usr/bin/python3 tools/golden/<name>.py
Outputs go to tests/golden/<prefix>_<what>.npy, small (keep the whole folder under a few MB).
All arrays are written in graft's (Keras's) layouts: activations channels-last (N, L, C),
Conv1D kernels (k, in, out), Dense kernels (in, out).
"""
import os

import numpy as np

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden")


def save(name, array):
    """Writes tests/golden/<name>.npy as float32 (floating input) or int64 (integer input)."""
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    a = np.asarray(array)
    if a.dtype.kind == "f":
        a = a.astype(np.float32)
    elif a.dtype.kind in "iu":
        a = a.astype(np.int64)
    np.save(os.path.join(GOLDEN_DIR, name + ".npy"), np.ascontiguousarray(a).reshape(a.shape))


def rng(seed):
    return np.random.default_rng(seed)
