#!/usr/bin/env python3
"""A real server for lab scenarios: `name-server.py NAME [PORT]` (default 80) answers an HTTP GET with NAME and
closes, and any other connection with NAME on every line it reads, for as long as the client keeps it open."""
import socket, sys, threading
name = sys.argv[1]
def serve(conn):
    with conn:
        f = conn.makefile("rb")
        first = f.readline()
        if first.startswith(b"GET "):
            while f.readline() not in (b"\r\n", b"\n", b""):
                pass
            body = (name + "\n").encode()
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            return
        line = first
        while line:
            conn.sendall((name + "\n").encode())
            line = f.readline()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2]) if len(sys.argv) > 2 else 80))
s.listen(128)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
