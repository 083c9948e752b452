#!/usr/bin/env python3
"""tls_groups.py PORT - which TLS 1.3 key-exchange groups the server really
takes: for each group a ClientHello offering only that group, with a key
share of the right length.  "accepted" is a real ServerHello;
"retry" a HelloRetryRequest (the server wants another group: not taken);
"refused" an alert or a closed connection.  sslscan 2.0 counts a
HelloRetryRequest as acceptance, so its group list is not used for the
verdict (tls_scan.test).  Prints one "GROUP VERDICT" line per group."""
import os
import socket
import struct
import sys

HRR = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
# name, IANA id, key share length, weak (under 128-bit security or binary curve)
GROUPS = [
    ("sect163k1", 0x0001, 43, 1), ("sect233r1", 0x0007, 61, 1), ("sect283r1", 0x0009, 73, 1),
    ("secp160r1", 0x0010, 41, 1), ("secp192r1", 0x0013, 49, 1), ("secp224r1", 0x0015, 57, 1),
    ("secp256k1", 0x0016, 65, 0), ("secp256r1", 0x0017, 65, 0), ("secp384r1", 0x0018, 97, 0),
    ("x25519", 0x001d, 32, 0), ("x448", 0x001e, 56, 0),
    ("ffdhe2048", 0x0100, 256, 0), ("ffdhe3072", 0x0101, 384, 0),
]


def ext(t, b):
    return struct.pack(">HH", t, len(b)) + b


def hello(group, share_len):
    exts = ext(43, b"\x02\x03\x04")
    exts += ext(10, struct.pack(">HH", 2, group))
    exts += ext(13, struct.pack(">H", 8) + bytes.fromhex("0403080408050804"))
    ks = struct.pack(">HH", group, share_len) + os.urandom(share_len)
    exts += ext(51, struct.pack(">H", len(ks)) + ks)
    body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32)
    body += struct.pack(">H", 6) + bytes.fromhex("130113021303") + b"\x01\x00"
    body += struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack(">H", len(hs)) + hs


def probe(port, group, share_len):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(hello(group, share_len))
        r = s.recv(64)
    except OSError:
        r = b""
    finally:
        s.close()
    if r[:1] == b"\x16" and r[5:6] == b"\x02":
        return "retry" if r[11:43] == HRR else "accepted"
    return "refused"


port = int(sys.argv[1])
for name, gid, n, weak in GROUPS:
    print(name, probe(port, gid, n), "weak" if weak else "strong")
