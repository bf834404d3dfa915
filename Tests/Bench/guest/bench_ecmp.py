"""Measure 7 of `make bench`, active-active behind ECMP (guest side): runs the lab scenario
Tests/Lab/extended/active-active.sh (a real FRR router, one director with FRR, one with BIRD) and passes on its
timings as RESULT lines, with size "2x2" (two directors, two reals) and tool "directord"."""
import json
import os
import subprocess

import bench

SCENARIO = os.path.join(bench.REPO, "Tests/Lab/extended/active-active.sh")


def add_parser(subparsers):
    a = subparsers.add_parser("ecmp", help="measure 7: active-active directors, withdraw and crash timings")
    a.add_argument("--run", type=int, default=1)


def run(args):
    p = subprocess.Popen(["bash", SCENARIO], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, DIRECTORD_BIN=bench.BIN))
    for raw in p.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        if line.startswith("RESULT "):
            fields = json.loads(line[7:])
            bench.emit(**fields, size="2x2", tool="directord", run=args.run)
        else:
            bench.note(line)
    if p.wait() != 0:
        raise bench.BenchError(f"the active-active scenario exited {p.returncode}")
