"""Writes the small MNIST subset the end-to-end test trains on (tests/data/mnist_subset/).

    python3 tools/make_mnist_subset.py [--train 3000] [--test 1000]

Reads data/mnist (tools/setup.sh --mnist), keeps the first N training and test images, and
writes gzipped IDX files that keras::datasets::LoadMnist reads. MNIST is by Yann LeCun, Corinna
Cortes and Christopher Burges (CC BY-SA 3.0).
"""
import argparse
import gzip
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:], data[:4]


def write_subset(src, dst, n):
    dims, payload, magic = read_idx(src)
    row = 1
    for d in dims[1:]:
        row *= d
    header = magic + struct.pack(">" + "I" * len(dims), n, *dims[1:])
    # mtime=0: the same input gives byte-identical files.
    with open(dst, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(header + payload[: n * row])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", type=int, default=3000)
    p.add_argument("--test", type=int, default=1000)
    args = p.parse_args()
    src = os.path.join(ROOT, "data", "mnist")
    dst = os.path.join(ROOT, "tests", "data", "mnist_subset")
    os.makedirs(dst, exist_ok=True)
    for name, n in [("train-images-idx3-ubyte", args.train), ("train-labels-idx1-ubyte", args.train),
                    ("t10k-images-idx3-ubyte", args.test), ("t10k-labels-idx1-ubyte", args.test)]:
        write_subset(os.path.join(src, name), os.path.join(dst, name + ".gz"), n)


if __name__ == "__main__":
    main()
