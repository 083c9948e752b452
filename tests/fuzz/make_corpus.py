#!/usr/bin/env python3
"""make_corpus.py - writes the seed corpora of the new fuzz targets under
tests/fuzz/corpus/<target>/ (run from the source tree's top; the files are
committed, so this is only needed to change them).  Entry encoding as in
doc/PROTOCOL.md "Entry"."""
import os
import struct

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def s(b):
    return struct.pack(">I", len(b)) + b


def entry(path, typ=1, size=0, crc=None, stat=False, racy=False, target=None,
          mode=0o644, mtime=1700000000):
    flags = (1 if crc is not None else 0) | (4 if stat else 0) | (8 if racy else 0)
    b = s(path) + struct.pack(">BIqQB", typ, mode, mtime, size, flags)
    if crc is not None:
        b += struct.pack(">I", crc)
    if stat:
        b += struct.pack(">IqIQ", 123, mtime, 456, 4242)
    if typ == 3:
        b += s(target)
    return b


def put(target, name, data):
    d = os.path.join(TOP, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


tree = (entry(b"a", 2, mode=0o755) + entry(b"a/f", 1, 5, crc=0x12345678, stat=True)
        + entry(b"a/l", 3, 4, target=b"../f") + entry(b"b", 1, 0, stat=True, racy=True))
put("manifest", "tree", tree)
put("manifest", "one_file", entry(b"x", 1, 3, crc=1))
put("manifest", "stat_racy", entry(b"r", 1, 9, stat=True, racy=True) + entry(b"r2", 1, 9, stat=True))
put("manifest", "truncated", tree[:-3])

put("restorelist", "all", b"\0" + tree)
put("restorelist", "scoped", b"\1a\0" + entry(b"a/f", 1, 5) + entry(b"a/g", 2))
put("restorelist", "duplicate", b"\0" + entry(b"d", 2) + entry(b"d", 1))
put("restorelist", "file_as_parent", b"\0" + entry(b"f", 1) + entry(b"f/x", 1))
put("restorelist", "out_of_scope", b"\2a\0b/c\0" + entry(b"z", 1))
put("restorelist", "before_folder", b"\0" + entry(b"p/q", 1))

put("clientconf", "plain", b"\0server = backup.example:7443\nca = ~/ca.pem\nuser = alice\n")
put("clientconf", "profiles", b"\1# comment\nuser = a\n[profile work]\nserver = w:1\n"
    b"token-file = ~/t\n[profile home]\npassword-file = /p\n")
put("clientconf", "bad_key", b"\0colour = red\n")
put("clientconf", "bad_section", b"\2[work]\n")

for name, line in {
    "help": b"help", "unknown": b"frobnicate a b", "quoted": b"useradd \"bob smith\" --quota '1 G'",
    "unbalanced": b"quota 'alice 10G", "spaces": b"  \t users \r\n", "log": b"log 20",
}.items():
    put("admin", name, line)

put("pathsafe", "ok", b"a/b/c.txt")
put("pathsafe", "dotdot", b"a/../../x")
put("pathsafe", "absolute", b"/etc/passwd")
put("proto", "entry_list", b"\x32" + struct.pack(">BI", 1, 2) + entry(b"a", 2) + entry(b"a/b", 1))
put("proto", "error", b"\x7f" + s(b"boom"))
import io, zipfile  # noqa: E402
z = io.BytesIO()
with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
    for name, data in (("a/b.txt", b"hello " * 50), ("c", b"")):
        zi = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))  # same bytes every run
        zi.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(zi, data)
put("zipio", "small", z.getvalue())
put("zipio", "truncated", z.getvalue()[:60])
# regression (d359b63): a comment longer than the old 4 KiB line buffer
put("clientconf", "long_comment", b"\0# " + b"x" * 4300 + b"server = evil:1\nuser = u\n")


# zipio: local headers against the central directory (zipio_local_check):
# honest entries with a data descriptor (with and without its signature) and
# with zip64 local sizes, and each kind of disagreement.
def zip_raw(items):
    import zlib
    out, cd = b"", b""
    for it in items:
        name, data, method = it["name"], it["data"], it.get("method", 0)
        body = data
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        crc, flags = zlib.crc32(data), it.get("flags", 0)
        lcs, lus, extra = it.get("lcsize", len(body)), it.get("lusize", len(data)), b""
        if "lzip64" in it:
            lcs = lus = 0xFFFFFFFF
            extra = struct.pack("<HHQQ", 1, 16, *it["lzip64"])
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, it.get("lflags", flags), method,
                           0, 0x5821, it.get("lcrc", crc), lcs, lus,
                           len(it.get("lname", name)), len(extra))
        out += it.get("lname", name) + extra + body + it.get("dd", b"")
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, flags, method, 0,
                          0x5821, crc, len(body), len(data), len(name), 0, 0, 0, 0,
                          0o100644 << 16, off) + name
    return out + cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(items), len(items),
                                  len(cd), len(out), 0)


def zip_dd(data, sig=True, lie=0):
    import zlib
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    n = len(c.compress(data) + c.flush())
    return (struct.pack("<I", 0x08074B50) if sig else b"") + \
        struct.pack("<III", zlib.crc32(data), n, len(data) + lie)


D = b"descriptor data " * 8
put("zipio", "descriptor_sig", zip_raw([
    dict(name=b"d", data=D, method=8, flags=8, lcrc=0, lcsize=0, lusize=0, dd=zip_dd(D)),
    dict(name=b"e", data=b"next")]))
put("zipio", "descriptor_nosig", zip_raw([
    dict(name=b"d", data=D, method=8, flags=8, lcrc=0, lcsize=0, dd=zip_dd(D, False))]))
put("zipio", "descriptor_lie", zip_raw([
    dict(name=b"d", data=D, method=8, flags=8, lcrc=0, lcsize=0, lusize=0,
         dd=zip_dd(D, lie=-100))]))
put("zipio", "zip64_local", zip_raw([dict(name=b"z", data=b"zip64", lzip64=(5, 5))]))
put("zipio", "zip64_local_lie", zip_raw([dict(name=b"z", data=b"zip64", lzip64=(9, 5))]))
put("zipio", "local_name", zip_raw([dict(name=b"a", data=b"x"),
                                    dict(name=b"good", data=b"y", lname=b"evil")]))
put("zipio", "local_flags", zip_raw([dict(name=b"f", data=b"x", lflags=0x800)]))
