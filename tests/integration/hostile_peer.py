#!/usr/bin/env python3
"""hostile_peer.py - a client written from doc/PROTOCOL.md alone that misbehaves
on purpose (issue 11: hostile.test, quota_staging.test, throttle.test).

Usage: hostile_peer.py HOST PORT [--from ADDR] MODE ARGS...
  --from ADDR      bind the client socket to ADDR (e.g. 127.0.0.2)
Modes (USER/PW log in with a password; each prints one result line):
  failburst USER N          N connections at once, each one failed login as USER
  logintime USER PW         seconds a correct login takes ("%.2f"; a PW
        starting with abk_ is a token)
  abandon USER PW SOURCE SIZE   push one file of SIZE random bytes into SOURCE,
        send all its data, then drop the connection before PUSH_END; prints
        "staged" or the ERROR ("error CODE text")
  trickle USER PW DELAY     log in, then send LIST_SOURCES one byte every
        DELAY s; prints "closed after S s" (and the ERROR if one came)
  stall USER PW SOURCE SIZE push, then send nothing after PUSH_NEED; prints
        how the server ended it and when
  flood N SECONDS READY     keep N silent TCP connections open for SECONDS,
        reopening each as soon as the server closes it (READY written once
        all are open); prints "reopened K"
  churn N                   open N TLS connections one after another and drop
        each right after the handshake; prints "dropped K"
  case NAME USER PW SOURCE  one hostile case (see CASES below); prints
        "error CODE text", "closed" or "accepted ..." (the server took it)
"""
import hashlib, io, os, socket, ssl, struct, sys, threading, time, zipfile, zlib

HELLO_BODY = b"ABK1" + struct.pack(">HH", 3, 3) + struct.pack(">I", 6) + b"hostile"
PIECE = 4 << 20
SRC = None      # --from address


class Closed(Exception):
    pass


def tls(host, port, timeout=30):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, port), timeout=timeout,
                                   source_address=(SRC, 0) if SRC else None)
    return ctx.wrap_socket(raw)


def exact(s, n):
    b = b""
    while len(b) < n:
        try:
            c = s.recv(n - len(b))
        except (OSError, ssl.SSLError) as e:
            raise Closed(str(e))
        if not c:
            raise Closed("eof")
        b += c
    return b


def recv(s):
    n, t = struct.unpack(">IB", exact(s, 5))
    return t, exact(s, n)


def send(s, t, body=b""):
    s.sendall(struct.pack(">IB", len(body), t) + body)


def cstr(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack(">I", len(b)) + b


def err_text(body):
    code = struct.unpack(">H", body[:2])[0]
    return "error %d %s" % (code, body[6:].decode(errors="replace"))


def hello(s):
    send(s, 0x01, HELLO_BODY)
    t, body = recv(s)
    if t != 0x02:
        raise Closed(err_text(body) if t == 0x03 else "type %d" % t)


def login(host, port, user, pw, timeout=60):
    s = tls(host, port, timeout)
    hello(s)
    if pw.startswith("abk_"):       # a token
        send(s, 0x11, cstr("") + cstr(pw))
    else:
        send(s, 0x10, cstr(user) + cstr(pw))
    t, body = recv(s)
    if t != 0x12:
        raise Closed("login: " + (err_text(body) if t == 0x03 else "type %d" % t))
    return s


def entry(path, typ=1, size=0, crc=None, mode=0o644, target=None, mtime=1700000000):
    flags = 0x04 | (0x01 if crc is not None else 0)
    b = cstr(path) + struct.pack(">BIqQB", typ, mode, mtime, size, flags)
    if crc is not None:
        b += struct.pack(">I", crc)
    b += struct.pack(">IqIQ", 0, mtime, 0, 12345)
    if typ == 3:
        b += cstr(target)
    return b


def zip_of(items, method=zipfile.ZIP_STORED):
    """A zip of (name bytes, data) in order; duplicates kept."""
    out = io.BytesIO()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(out, "w", method) as z:
            for name, data in items:
                zi = zipfile.ZipInfo(name.decode("utf-8", "surrogateescape")
                                     if isinstance(name, bytes) else name,
                                     (2024, 1, 1, 0, 0, 0))
                zi.compress_type = method
                zi.external_attr = 0o100644 << 16
                z.writestr(zi, data)
    return out.getvalue()


def cd_digest(z):
    """BLAKE2b-256 of the central directory (EOCD at the end, no comment)."""
    eocd = len(z) - 22
    cd_off = struct.unpack("<I", z[eocd + 16:eocd + 20])[0]
    return hashlib.blake2b(z[cd_off:eocd], digest_size=32).digest()


class Push:
    def __init__(self, s, source, entries, origin=b"/hostile", flags=0, nbytes=0):
        self.s = s
        self.digests = []
        body = cstr(source) + cstr(origin) + struct.pack(">BQQ", flags, len(entries), nbytes)
        send(s, 0x30, body)
        t, body = recv(s)
        if t != 0x31:
            raise Closed(err_text(body) if t == 0x03 else "type %d" % t)
        for i in range(0, max(len(entries), 1), 1000):
            chunk = entries[i:i + 1000]
            last = 1 if i + 1000 >= len(entries) else 0
            send(s, 0x32, struct.pack(">BI", last, len(chunk)) + b"".join(chunk))
        self.need = []
        while True:
            t, body = recv(s)
            if t == 0x03:
                raise Closed(err_text(body))
            if t != 0x33:
                raise Closed("type %d" % t)
            last, n = struct.unpack(">BI", body[:5])
            self.need += list(struct.unpack(">%dI" % n, body[5:5 + 4 * n]))
            if last:
                break
        if self.need:
            while True:     # PUSH_PIECES
                t, body = recv(s)
                if t == 0x03:
                    raise Closed(err_text(body))
                if body[0] == 1:
                    break

    def batch(self, units, z, digest=None, length=None, split=256 << 10):
        b = struct.pack(">I", len(units))
        for idx, off, ln, fl in units:
            b += struct.pack(">IQQB", idx, off, ln, fl)
        send(self.s, 0x34, b)
        for i in range(0, len(z), split):
            send(self.s, 0x35, z[i:i + split])
        d = digest if digest is not None else cd_digest(z)
        self.digests.append(d)
        send(self.s, 0x36, struct.pack(">Q", len(z) if length is None else length) + d)

    def end(self):
        send(self.s, 0x37, hashlib.blake2b(b"".join(self.digests), digest_size=32).digest())
        t, body = recv(self.s)
        if t == 0x03:
            return err_text(body)
        return "accepted " + body[4:4 + struct.unpack(">I", body[:4])[0]].decode()


def file_units(index, data):
    return [(index, o, min(PIECE, len(data) - o), 0) for o in range(0, len(data), PIECE)]


def whole_file_push(s, source, name, data):
    p = Push(s, source, [entry(name, 1, len(data), zlib.crc32(data))], nbytes=len(data))
    if p.need:
        units = file_units(0, data)
        p.batch(units, zip_of([(name, data[o:o + ln]) for _, o, ln, _ in units]))
    return p


def flood(host, port, n, seconds, ready):
    import selectors
    sel = selectors.DefaultSelector()

    def opened():
        c = socket.create_connection((host, port), timeout=10,
                                     source_address=(SRC, 0) if SRC else None)
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    for _ in range(n):
        opened()
    with open(ready, "w") as f:
        f.write("ready\n")
    reopened = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=0.2):
            c = key.fileobj
            try:
                data = c.recv(4096)
            except OSError:
                data = b""
            if not data:
                sel.unregister(c)
                c.close()
                try:
                    opened()
                    reopened += 1
                except OSError:
                    pass
    print("reopened %d" % reopened)


def churn(host, port, n):
    k = 0
    for _ in range(n):
        try:
            s = tls(host, port, 10)
            s.close()
            k += 1
        except (OSError, ssl.SSLError):
            pass
    print("dropped %d" % k)


# ---- modes ----------------------------------------------------------------------

def failburst(host, port, user, n):
    done = []

    def one():
        try:
            s = tls(host, port)
            hello(s)
            send(s, 0x10, cstr(user) + cstr("wrong password"))
            recv(s)
            done.append(1)
        except (Closed, OSError, ssl.SSLError):
            pass
    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("failed %d" % len(done))


def logintime(host, port, user, pw):
    start = time.monotonic()
    try:
        login(host, port, user, pw)
        print("%.2f" % (time.monotonic() - start))
    except (Closed, OSError) as e:
        print("failed", e)


def abandon(host, port, user, pw, source, size):
    try:
        s = login(host, port, user, pw)
        whole_file_push(s, source, b"big", os.urandom(size))
        time.sleep(1)       # let the unpacker journal the file, then vanish
        s.close()
        print("staged")
    except Closed as e:
        print(e)


def trickle(host, port, user, pw, delay):
    s = login(host, port, user, pw)
    start = time.monotonic()
    res = ""
    try:
        for b in struct.pack(">IB", 0, 0x20):
            s.sendall(bytes([b]))
            time.sleep(delay)
        t, body = recv(s)
        res = err_text(body) if t == 0x03 else "answered %d" % t
        recv(s)
    except (Closed, OSError, ssl.SSLError):
        pass
    print("closed after %.1f s %s" % (time.monotonic() - start, res))


def stall(host, port, user, pw, source, size):
    s = login(host, port, user, pw)
    data = os.urandom(size)
    p = Push(s, source, [entry(b"f", 1, size, zlib.crc32(data))], nbytes=size)
    start = time.monotonic()
    res = "closed"
    # A batch announced, then a few bytes a second: well inside every frame
    # deadline, far below any useful rate.
    send(s, 0x34, struct.pack(">IIQQB", 1, p.need[0], 0, size, 0))
    s.settimeout(2)
    try:
        while time.monotonic() - start < 120:
            send(s, 0x35, b"x")
            try:
                t, body = recv(s)
                res = err_text(body) if t == 0x03 else "type %d" % t
                break
            except Closed as e:
                if "timed out" not in str(e):
                    break
    except (OSError, ssl.SSLError):
        pass
    print("%s after %.0f s" % (res, time.monotonic() - start))


if __name__ == "__main__":
    a = sys.argv[1:]
    host, port = a[0], int(a[1])
    a = a[2:]
    if a[0] == "--from":
        SRC = a[1]
        a = a[2:]
    m = a[0]
    if m == "failburst":
        failburst(host, port, a[1], int(a[2]))
    elif m == "logintime":
        logintime(host, port, a[1], a[2])
    elif m == "abandon":
        abandon(host, port, a[1], a[2], a[3], int(a[4]))
    elif m == "trickle":
        trickle(host, port, a[1], a[2], float(a[3]))
    elif m == "stall":
        stall(host, port, a[1], a[2], a[3], int(a[4]))
    elif m == "flood":
        flood(host, port, int(a[1]), float(a[2]), a[3])
    elif m == "churn":
        churn(host, port, int(a[1]))
    elif m == "case":
        import hostile_cases
        print(hostile_cases.run(sys.modules[__name__], host, port, a[1], a[2], a[3], a[4]))
    else:
        sys.exit("unknown mode " + m)
