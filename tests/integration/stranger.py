#!/usr/bin/env python3
"""stranger.py - a peer that holds server resources without logging in
(strangers.test).  Modes:
  hold HOST PORT NTLS NTCP READY SECONDS  NTLS connections do TLS + HELLO and
        go silent, NTCP connect and never start TLS; READY is written once
        all are open (TLS ones in the background); sleep SECONDS.
  trickle HOST PORT DELAY   TLS, then HELLO one byte every DELAY s; prints
        the seconds until the server closes the connection.
  expect HOST PORT          TLS + HELLO; prints the first frame's type and text.
"""
import socket, ssl, struct, sys, threading, time

HELLO_BODY = b"ABK1" + struct.pack(">HH", 1, 0xFFFF) + struct.pack(">I", 0)
HELLO = struct.pack(">IB", len(HELLO_BODY), 1) + HELLO_BODY


def tls(host, port, timeout=30):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, port), timeout=timeout)
    return ctx.wrap_socket(raw)


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
    else:
        expect(host, port)
