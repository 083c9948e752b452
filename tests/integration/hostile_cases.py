"""hostile_cases.py - the hostile cases of issue 11 item 1, one function each,
run by `hostile_peer.py HOST PORT case NAME USER PW SOURCE` (hostile.test).

Each case logs in as USER (except the pre-login ones), does one wrong thing
against SOURCE (a source USER already has a snapshot of) and returns what the
server did: "error CODE text" (an ERROR frame), "closed ..." (the connection
ended without one), "refused-list ..." or "accepted ID" (a snapshot was
published: only allowed where the input is valid, e.g. a name `C:x`).
The zips are built by hand (zip_raw) so that names, sizes and CRCs can lie.
"""
import os, socket, ssl, struct, time, zlib

P = None        # the hostile_peer module (frames, login, Push)


def zip_raw(items, lie=None):
    """A stored/deflated zip of dicts {name, data, method, crc, csize, usize,
    lname}: the fields given override what is true (lname: the name in the
    local header only).  Local header only: lflags, lcrc, lcsize, lusize,
    lzip64 (sizes 0xFFFFFFFF and a zip64 field of these two); flags (both
    headers) and dd (data descriptor bytes after the data)."""
    out, cd = b"", b""
    for it in items:
        name, data = it["name"], it["data"]
        method = it.get("method", 0)
        body = data
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        crc = it.get("crc", zlib.crc32(data))
        csize = it.get("csize", len(body))
        usize = it.get("usize", len(data))
        lname = it.get("lname", name)
        flags = it.get("flags", 0)
        lcs, lus, extra = it.get("lcsize", csize), it.get("lusize", usize), b""
        if "lzip64" in it:
            lcs = lus = 0xFFFFFFFF
            extra = struct.pack("<HHQQ", 1, 16, *it["lzip64"])
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, it.get("lflags", flags), method,
                           0, 0x5821, it.get("lcrc", crc), lcs, lus, len(lname),
                           len(extra)) + lname + extra + body + it.get("dd", b"")
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, flags, method, 0,
                          0x5821, crc, csize, usize, len(name), 0, 0, 0, 0,
                          0o100644 << 16, off) + name
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(items), len(items), len(cd),
                       len(out), 0)
    return out + cd + eocd


def outcome(fn):
    try:
        r = fn()
        return r if r else "no answer"
    except P.Closed as e:
        s = str(e)
        return s if s.startswith("error") else "closed " + s
    except (OSError, ssl.SSLError) as e:
        return "closed %s" % e


def one_file_push(c, s, source, listname, zipname=None, data=b"hostile data\n", **zipkw):
    """List one file `listname`, send one zip entry named zipname."""
    p = P.Push(s, source, [P.entry(listname, 1, len(data), zlib.crc32(data))],
               nbytes=len(data))
    if not p.need:
        return "nothing needed"
    z = zip_raw([dict(name=zipname if zipname is not None else listname, data=data,
                      **zipkw)])
    p.batch([(p.need[0], 0, len(data), 0)], z)
    return p.end()


def list_push(c, s, source, entries):
    p = P.Push(s, source, entries, nbytes=0)
    return p.end() if not p.need else "needs %d" % len(p.need)


# ---- the cases ------------------------------------------------------------------

NAMES = {
    "dotdot": b"../x", "absolute": b"/etc/x", "inner-dotdot": b"a/../../x",
    "drive": b"C:x", "nul": b"a\0x", "empty": b"", "long": b"n" * 65535,
}


def make_zipname_case(name):
    return lambda c, s, src: one_file_push(c, s, src, b"f", name)


def make_listname_case(name):
    return lambda c, s, src: one_file_push(c, s, src, name, name)


def symlink_escape(c, s, src):
    return list_push(c, s, src, [P.entry(b"a", 3, 1, target=b"/"),
                                 P.entry(b"a/x", 1, 0, crc=0)])


def symlink_escape_data(c, s, src):
    data = b"escaped\n"
    p = P.Push(s, src, [P.entry(b"a", 3, 1, target=b"/"),
                        P.entry(b"a/x", 1, len(data), zlib.crc32(data))], nbytes=len(data))
    p.batch([(1, 0, len(data), 0)], zip_raw([dict(name=b"a/x", data=data)]))
    return p.end()


def duplicate(c, s, src):
    return list_push(c, s, src, [P.entry(b"f", 1, 0, crc=0), P.entry(b"f", 1, 0, crc=0)])


def file_and_dir(c, s, src):
    return list_push(c, s, src, [P.entry(b"d", 2, 0, mode=0o755),
                                 P.entry(b"d", 1, 0, crc=0)])


def duplicate_zip_entries(c, s, src):
    data = b"1234567890"
    p = P.Push(s, src, [P.entry(b"f", 1, len(data), zlib.crc32(data))], nbytes=len(data))
    z = zip_raw([dict(name=b"f", data=data), dict(name=b"f", data=b"x" * 10)])
    p.batch([(0, 0, 10, 0)], z)
    return p.end()


def zip_bomb(c, s, src):
    # 64 MiB of zeros deflate to ~64 KiB; the list and the zip's headers
    # claim 1,000 bytes, so the reader must stop at the declared size.
    big = bytes(64 << 20)
    p = P.Push(s, src, [P.entry(b"f", 1, 1000, zlib.crc32(big[:1000]))], nbytes=1000)
    z = zip_raw([dict(name=b"f", data=big, method=8, usize=1000,
                      crc=zlib.crc32(big[:1000]))])
    p.batch([(0, 0, 1000, 0)], z)
    return p.end()


def size_lie(c, s, src):
    data = b"y" * 2000
    return one_file_push(c, s, src, b"f", b"f", data=data, usize=1000)


def size_lie_list(c, s, src):
    data = b"y" * 2000
    p = P.Push(s, src, [P.entry(b"f", 1, 1000, zlib.crc32(data[:1000]))], nbytes=1000)
    p.batch([(0, 0, 1000, 0)], zip_raw([dict(name=b"f", data=data)]))
    return p.end()


def crc_lie(c, s, src):
    data = b"z" * 500
    return one_file_push(c, s, src, b"f", b"f", data=data, crc=0x12345678)


def truncated(c, s, src):
    data = b"t" * 5000
    p = P.Push(s, src, [P.entry(b"f", 1, len(data), zlib.crc32(data))], nbytes=len(data))
    z = zip_raw([dict(name=b"f", data=data)])
    p.batch([(0, 0, len(data), 0)], z[:len(z) // 2], digest=P.cd_digest(z))
    return p.end()


def cd_disagrees(c, s, src):
    data = b"c" * 100
    return one_file_push(c, s, src, b"f", b"f", data=data, lname=b"g")


def local_flags(c, s, src):
    # the local header alone claims UTF-8 names
    return one_file_push(c, s, src, b"f", b"f", data=b"flags\n", lflags=0x800)


def local_understates(c, s, src):
    # sizes after the data (flag bit 3): the local header says 0 and the
    # data descriptor understates the size the central directory gives
    data = b"u" * 3000
    body = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = body.compress(data) + body.flush()
    dd = struct.pack("<IIII", 0x08074B50, zlib.crc32(data), len(body), 100)
    return one_file_push(c, s, src, b"f", b"f", data=data, method=8, flags=8, lcrc=0,
                         lcsize=0, lusize=0, dd=dd)


def local_zip64_lie(c, s, src):
    # 0xFFFFFFFF sizes, which minizip does not compare, and a zip64 field
    # that disagrees with the central directory
    data = b"6" * 400
    return one_file_push(c, s, src, b"f", b"f", data=data, lzip64=(1 << 33, 400))


def ten_million(c, s, src):
    body = P.cstr(src) + P.cstr(b"/h") + struct.pack(">BQQ", 0, 10_000_000, 0)
    P.send(s, 0x30, body)
    t, b = P.recv(s)
    if t == 0x03:
        return P.err_text(b)
    return "answered type %d" % t


def over_limit(c, s, src):
    s.sendall(struct.pack(">IB", (1 << 20) + 1, 0x20))
    t, b = P.recv(s)
    return P.err_text(b) if t == 0x03 else "answered %d" % t


def length_ffffffff(c, s, src):
    s.sendall(struct.pack(">IB", 0xFFFFFFFF, 0x32))
    t, b = P.recv(s)
    return P.err_text(b) if t == 0x03 else "answered %d" % t


def unknown_type(c, s, src):
    P.send(s, 0x7F, b"")
    t, b = P.recv(s)
    return P.err_text(b) if t == 0x03 else "answered %d" % t


def other_user(name):
    def case(c, s, src):
        out = []
        for t, body in ((0x22, P.cstr(name)),
                        (0x24, P.cstr(name) + P.cstr(b"") + P.cstr(b"")),
                        (0x24, P.cstr(src) + P.cstr(b"") + P.cstr(name)),
                        (0x40, P.cstr(name) + P.cstr(b"") + b"\0" + struct.pack(">I", 0))):
            P.send(s, t, body)
            rt, rb = P.recv(s)
            if rt != 0x03:
                return "answered type %d to %#x" % (rt, t)
            out.append(str(struct.unpack(">H", rb[:2])[0]))
        return "error " + ",".join(out) + " (all refused)"
    return case


CASES = {
    "symlink-escape": symlink_escape, "symlink-escape-data": symlink_escape_data,
    "duplicate": duplicate, "file-and-dir": file_and_dir,
    "duplicate-zip-entries": duplicate_zip_entries, "zip-bomb": zip_bomb,
    "size-lie": size_lie, "size-lie-list": size_lie_list, "crc-lie": crc_lie,
    "truncated-zip": truncated, "cd-disagrees": cd_disagrees, "local-flags": local_flags,
    "local-understates": local_understates, "local-zip64-lie": local_zip64_lie,
    "ten-million": ten_million, "frame-over-limit": over_limit,
    "length-ffffffff": length_ffffffff, "unknown-type": unknown_type,
    "other-user-dotdot": other_user(b"../bob/docs"), "other-user-path": other_user(b"bob/docs"),
    "other-user-abs": other_user(b"/bob"), "other-user-dot": other_user(b".."),
}
for k, v in NAMES.items():
    CASES["zipname-" + k] = make_zipname_case(v)    # zip names hold 65,535 bytes at most
    CASES["listname-" + k] = make_listname_case(v + b"n" if k == "long" else v)


def bomb_honest(c, s, src):
    # Declared honestly (64 MiB, ~64 KiB deflated): over the quota.
    big = bytes(64 << 20)
    p = P.Push(s, src, [P.entry(b"f", 1, len(big), zlib.crc32(big))], nbytes=len(big))
    units = P.file_units(0, big)
    p.batch(units, zip_raw([dict(name=b"f", data=big[o:o + n], method=8)
                            for _, o, n, _ in units]))
    return p.end()


def trickle_after_login(c, s, src):
    start = time.monotonic()
    try:
        for b in struct.pack(">IB", 0, 0x20):
            s.sendall(bytes([b]))
            time.sleep(1)
        t, b = P.recv(s)
        r = P.err_text(b) if t == 0x03 else "answered %d" % t
    except (P.Closed, OSError, ssl.SSLError):
        r = "closed"
    return "%s after %.0f s" % (r, time.monotonic() - start)


CASES["zip-bomb-over-quota"] = bomb_honest
CASES["trickle-after-login"] = trickle_after_login


# Cases before login: their own connection.
def prelogin(name, host, port):
    s = P.tls(host, port, 20)
    P.hello(s)
    if name == "before-login-list":
        P.send(s, 0x20)
    elif name == "before-login-push":
        P.send(s, 0x30, P.cstr(b"docs") + P.cstr(b"/h") + struct.pack(">BQQ", 0, 1, 0))
    elif name == "trickle-before-login":
        start = time.monotonic()
        try:
            for b in struct.pack(">IB", 4, 0x20) + b"abcd":
                s.sendall(bytes([b]))
                time.sleep(1)
            t, b = P.recv(s)
            r = P.err_text(b) if t == 0x03 else "answered %d" % t
        except (P.Closed, OSError, ssl.SSLError):
            r = "closed"
        return "%s after %.0f s" % (r, time.monotonic() - start)
    elif name == "handshake-silence":
        start = time.monotonic()
        try:
            t, b = P.recv(s)
            return "%s after %.0f s" % (P.err_text(b) if t == 0x03 else t,
                                       time.monotonic() - start)
        except P.Closed:
            return "closed after %.0f s" % (time.monotonic() - start)
    t, b = P.recv(s)
    return P.err_text(b) if t == 0x03 else "answered %d" % t


PRELOGIN = ("before-login-list", "before-login-push", "handshake-silence",
            "trickle-before-login")


def run(peer, host, port, name, user, pw, source):
    global P
    P = peer
    if name in PRELOGIN:
        return outcome(lambda: prelogin(name, host, port))
    if name not in CASES:
        return "unknown case " + name

    def go():
        s = P.login(host, port, user, pw)
        return CASES[name](None, s, source.encode())
    return outcome(go)
