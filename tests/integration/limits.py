#!/usr/bin/env python3
"""limits.py - send one over-limit frame to a real server and print the
answer as "TYPE CODE TEXT" (limits.test).  Usage:
  limits.py HOST PORT USER PASSWORD CASE
Each CASE crosses one limit of doc/PROTOCOL.md ("Limits and their errors").
"""
import struct, sys

HELLO_BODY = b"ABK1" + struct.pack(">HH", 3, 3) + struct.pack(">I", 0)


# The frame and TLS helpers of the hostile peer: one copy for every test peer.
from hostile_peer import tls, send, cstr, recv as frame  # noqa: E402


def entry(path, kind=2, mode=0o755):
    # path, u8 type (2 = directory), u32 mode, i64 mtime, u64 size, u8 flags
    return cstr(path) + struct.pack(">BIqQB", kind, mode, 0, 0, 0)


def main():
    host, port, user, pw, case = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        sys.argv[4], sys.argv[5]
    s = tls(host, port)
    send(s, 0x01, HELLO_BODY)
    frame(s)
    login = cstr(user.encode()) + cstr(pw.encode())
    if case == "user":
        send(s, 0x10, cstr(b"u" * 33) + cstr(b"x"))
    elif case == "password":
        send(s, 0x10, cstr(user.encode()) + cstr(b"p" * 1025))
    elif case == "token":
        send(s, 0x11, cstr(b"") + cstr(b"t" * 257))
    else:
        send(s, 0x10, login)
        t, body = frame(s)
        if t != 0x12:
            print("login failed")
            return
        if case == "frame":
            s.sendall(struct.pack(">IB", 1024 * 1024 + 1, 0x22))
        elif case == "source":
            send(s, 0x22, cstr(b"s" * 256))
        elif case == "snapshot":
            send(s, 0x24, cstr(b"src") + cstr(b"i" * 65) + cstr(b""))
        elif case == "dir":
            send(s, 0x24, cstr(b"src") + cstr(b"") + cstr(b"d" * 4096))
        elif case == "restore-paths":
            send(s, 0x40, cstr(b"src") + cstr(b"") + b"\0" + struct.pack(">I", 1025))
        elif case == "restore-path":
            send(s, 0x40, cstr(b"src") + cstr(b"") + b"\0" + struct.pack(">I", 1) +
                 cstr(b"p" * 4096))
        elif case == "origin":
            send(s, 0x30, cstr(b"src") + cstr(b"/" + b"o" * 4095) + b"\0" +
                 struct.pack(">QQ", 1, 0))
        elif case == "entries":
            send(s, 0x30, cstr(b"src") + cstr(b"/o") + b"\0" +
                 struct.pack(">QQ", 10000001, 0))
        elif case in ("entry-path", "depth"):
            send(s, 0x30, cstr(b"src") + cstr(b"/o") + b"\0" + struct.pack(">QQ", 1, 0))
            t, body = frame(s)
            if t != 0x31:
                print("no PUSH_READY", t)
                return
            if case == "entry-path":
                path = b"p" * 4096
            else:
                path = b"/".join([b"d"] * 128)
            send(s, 0x32, b"\1" + struct.pack(">I", 1) + entry(path))
        elif case == "short":
            send(s, 0x22, b"\0\0")       # LIST_SNAPSHOTS cut inside its length
        elif case == "verify":
            send(s, 0x50, cstr(b"src") + cstr(b"i" * 65))
    t, body = frame(s)
    if t == 0x03:
        code, = struct.unpack(">H", body[:2])
        print(t, code, body[6:].decode(errors="replace"))
    else:
        print(t)


main()
