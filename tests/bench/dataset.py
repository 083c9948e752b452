#!/usr/bin/env python3
"""dataset.py - the benchmarks' data, shared by bench.sh and profile.sh.

  dataset.py make DIR SMALL BIG_MB   SMALL small files under DIR/small and
                                     four BIG_MB files (2 random, 2 compressible)
  dataset.py change DIR SEED         issue 12's 1% change, the same for every
                                     tool given the same SEED: 1% of the small
                                     files edited in place (256 bytes and an
                                     appended line), 0.5% deleted, 0.5% new,
                                     one 1 MiB region overwritten in place in
                                     every big file
"""
import os
import random
import sys


def make(root, n, big_mb):
    small = os.path.join(root, "small")
    rng = random.Random(1)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"backup", b"server", b"file", b"data"]
    for i in range(n):
        d = os.path.join(small, "d%03d" % (i // 200))
        os.makedirs(d, exist_ok=True)
        size = rng.randint(200, 40000)
        if i % 3 == 0:
            data = os.urandom(size)
        else:
            data = b" ".join(rng.choice(words) for _ in range(size // 5))[:size]
        with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
            f.write(data)
    size = big_mb * 1048576
    for name in ("random1.bin", "random2.bin"):
        with open(os.path.join(root, name), "wb") as f:
            for _ in range(big_mb):
                f.write(os.urandom(1048576))
    line = b"compressible log line autobackup benchmark\n"
    with open(os.path.join(root, "log1.txt"), "wb") as f:
        f.write((line * (size // len(line) + 1))[:size])
    with open(os.path.join(root, "numbers.txt"), "wb") as f:
        k, left = 1, size
        while left > 0:
            chunk = "".join("%d\n" % i for i in range(k, k + 100000)).encode()[:left]
            f.write(chunk)
            k, left = k + 100000, left - len(chunk)


def change(root, seed):
    rng = random.Random(seed)
    small = []
    for d, dirs, files in os.walk(os.path.join(root, "small")):
        dirs.sort()
        small += [os.path.join(d, f) for f in sorted(files)]
    n = len(small)
    k1, k05 = max(1, n // 100), max(1, n // 200)
    picks = rng.sample(range(n), min(n, k1 + k05))
    for i in picks[:k1]:            # edited in place: 256 bytes, and a line appended
        f = small[i]
        size = os.path.getsize(f)
        with open(f, "r+b") as fh:
            fh.seek(rng.randrange(max(1, size - 256)))
            fh.write(rng.randbytes(256))
            fh.seek(0, 2)
            fh.write(b"appended in round %d\n" % seed)
    for i in picks[k1:]:            # deleted
        os.remove(small[i])
    os.makedirs(os.path.join(root, "small", "new"), exist_ok=True)
    for j in range(k05):            # new
        with open(os.path.join(root, "small", "new", "r%d-%05d.txt" % (seed, j)), "wb") as fh:
            fh.write(rng.randbytes(rng.randint(200, 40000)))
    for f in sorted(os.listdir(root)):      # every big file: 1 MiB overwritten in place
        p = os.path.join(root, f)
        if os.path.isfile(p):
            size = os.path.getsize(p)
            with open(p, "r+b") as fh:
                fh.seek(rng.randrange(max(1, size - 1048576)))
                fh.write(rng.randbytes(1048576))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "change":
        change(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
