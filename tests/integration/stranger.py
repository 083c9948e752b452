#!/usr/bin/env python3
"""stranger.py - a peer that holds server resources without logging in
(strangers.test).  Modes:
  hold HOST PORT NTLS NTCP READY SECONDS  NTLS connections do TLS + HELLO and
        go silent, NTCP connect and never start TLS; READY is written once
        all are open (TLS ones in the background); sleep SECONDS.
  trickle HOST PORT DELAY   TLS, then HELLO one byte every DELAY s; prints
        the seconds until the server closes the connection.
  expect HOST PORT          TLS + HELLO; prints the first frame's type and text.
  many HOST PORT USER SECRET N READY SECONDS   N logged-in idle sessions.
  restore HOST PORT USER SECRET SOURCE READY SECONDS [SNAPSHOT]   log in,
        ask for a restore of SOURCE (its SNAPSHOT, default the latest) and read
        nothing for SECONDS (READY written once asked), then read to the end;
        prints the ERROR that ended it, if any, or "restore complete".
  idle HOST PORT USER SECRET READY   log in (SECRET "abk_..." is a token, else
        a password), write READY, stay idle; prints the first frame the
        server sends then (type, error code, text) and the seconds waited.
"""
import socket, ssl, struct, sys, threading, time

HELLO_BODY = b"ABK1" + struct.pack(">HH", 1, 0xFFFF) + struct.pack(">I", 0)
HELLO = struct.pack(">IB", len(HELLO_BODY), 1) + HELLO_BODY


# The frame and TLS helpers of the hostile peer: one copy for every test peer.
from hostile_peer import tls, cstr, recv, Closed  # noqa: E402


def hold(host, port, ntls, ntcp, ready, seconds):
    socks = []
    def one():
        try:
            s = tls(host, port)
            s.sendall(HELLO)
            socks.append(s)
        except (OSError, ssl.SSLError):
            pass
    for _ in range(ntls):
        threading.Thread(target=one, daemon=True).start()
        time.sleep(0.2)
    for _ in range(ntcp):
        socks.append(socket.create_connection((host, port)))
    with open(ready, "w") as f:
        f.write("ready\n")
    time.sleep(seconds)


def trickle(host, port, delay):
    s = tls(host, port)
    start = time.monotonic()
    try:
        for b in HELLO:
            s.sendall(bytes([b]))
            time.sleep(delay)
        s.settimeout(30)
        while s.recv(4096):
            pass
    except (OSError, ssl.SSLError):
        pass
    print("%.1f" % (time.monotonic() - start))


def frame(s):
    # callers here expect a closed connection as an OSError
    try:
        return recv(s)
    except Closed as e:
        raise OSError(str(e))


def login(host, port, user, secret):
    s = tls(host, port, 60)
    s.sendall(HELLO)
    frame(s)
    if secret.startswith("abk_"):
        body, t = cstr(b"") + cstr(secret.encode()), 0x11
    else:
        body, t = cstr(user.encode()) + cstr(secret.encode()), 0x10
    s.sendall(struct.pack(">IB", len(body), t) + body)
    t, body = frame(s)
    if t != 0x12:
        print("login failed", t, body[6:].decode(errors="replace"))
        return None
    return s


def many(host, port, user, secret, n, ready, seconds):
    socks = [login(host, port, user, secret) for _ in range(n)]
    with open(ready, "w") as f:
        f.write("%d\n" % sum(1 for x in socks if x is not None))
    time.sleep(seconds)


def restore(host, port, user, secret, source, ready, seconds, snapshot=""):
    s = login(host, port, user, secret)
    if s is None:
        return
    body = cstr(source.encode()) + cstr(snapshot.encode()) + b"\0" + struct.pack(">I", 0)
    s.sendall(struct.pack(">IB", len(body), 0x40) + body)
    time.sleep(0.5)
    with open(ready, "w") as f:
        f.write("ready\n")
    time.sleep(seconds)
    s.settimeout(20)
    try:
        while True:
            t, body = frame(s)
            if t == 0x03:
                print(t, struct.unpack(">H", body[:2])[0], body[6:].decode(errors="replace"))
                return
            if t == 0x43:
                print("restore complete")
                return
    except (OSError, ssl.SSLError) as e:
        print("closed", e)


def idle(host, port, user, secret, ready):
    s = login(host, port, user, secret)
    if s is None:
        return
    with open(ready, "w") as f:
        f.write("ready\n")
    start = time.monotonic()
    s.settimeout(20)
    try:
        t, body = frame(s)
        print(t, struct.unpack(">H", body[:2])[0], body[6:].decode(errors="replace"),
              "after %.0f s" % (time.monotonic() - start))
    except (OSError, ssl.SSLError) as e:
        print("closed", e)


def expect(host, port):
    try:
        s = tls(host, port, 10)
        s.sendall(HELLO)
        hdr = s.recv(5)
        n, t = struct.unpack(">IB", hdr)
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                break
            body += chunk
        print(t, struct.unpack(">H", body[:2])[0], body[6:].decode(errors="replace"))
    except (OSError, ssl.SSLError, struct.error) as e:
        print("closed", e)


if __name__ == "__main__":
    m, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if m == "hold":
        hold(host, port, int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], float(sys.argv[7]))
    elif m == "trickle":
        trickle(host, port, float(sys.argv[4]))
    elif m == "many":
        many(host, port, sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7],
             float(sys.argv[8]))
    elif m == "restore":
        restore(host, port, sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7],
                float(sys.argv[8]), sys.argv[9] if len(sys.argv) > 9 else "")
    elif m == "idle":
        idle(host, port, sys.argv[4], sys.argv[5], sys.argv[6])
    else:
        expect(host, port)
