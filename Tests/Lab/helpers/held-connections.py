#!/usr/bin/env python3
"""Long-lived connections for lab scenarios: `held-connections.py HOST COUNT LOG STOPFILE [PORT]` opens COUNT
connections to HOST:PORT (default 80), logs each one's local port ("PORT INDEX N"), then sends a line on each every
0.5 s and logs each answer ("TIME INDEX real1", or "TIME INDEX FAILED ..." after which that one is dropped), until
STOPFILE exists."""
import os, socket, sys, time
host, count, log, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
port = int(sys.argv[5]) if len(sys.argv) > 5 else 80
out = open(log, "a", buffering=1)
conns = []
for i in range(count):
    s = socket.create_connection((host, port), timeout=3)
    conns.append((s, s.makefile("rb")))
    out.write("PORT %d %d\n" % (i, s.getsockname()[1]))
alive = set(range(count))
while alive and not os.path.exists(stop):
    for i in sorted(alive):
        s, f = conns[i]
        try:
            s.sendall(b"ping\n")
            answer = f.readline().decode().strip() or "FAILED closed"
        except OSError as e:
            answer = "FAILED %s" % e
        out.write("%.3f %d %s\n" % (time.time(), i, answer))
        if answer.startswith("FAILED"):
            alive.discard(i)
    time.sleep(0.5)
