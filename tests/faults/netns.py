"""Run a command in a network namespace of its own, reaching the outside only through forwarders.

    unshare --net --fork -- python -m tests.faults.netns \
        --forward 5432=/tmp/pg/.s.PGSQL.5432 --forward 6379=/tmp/redis/redis.sock -- uvicorn ...

Inside the namespace only its own loopback exists. Each ``--forward PORT=PATH`` listens on
127.0.0.1:PORT there and carries every connection to the Unix socket PATH, which lives in the file
system and so is reachable from both sides. The command (the web server, listening on a Unix socket
too) therefore talks to PostgreSQL and Redis over TCP on a loopback that the test can cut:
``nsenter --net=/proc/<pid>/ns/net ip link set lo down`` stops every packet on it without a FIN
or an RST, as a network partition does, and ``... lo up`` heals it. The forwarders never close a
connection on their own: only TCP on the cut loopback can fail.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _serve(listener: socket.socket, path: str) -> None:
    while True:
        inside, _ = listener.accept()
        outside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            outside.connect(path)
        except OSError:
            inside.close()
            outside.close()
            continue
        for source, sink in ((inside, outside), (outside, inside)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forward", action="append", default=[], metavar="PORT=PATH")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for spec in args.forward:
        port, _, path = spec.partition("=")
        listener = socket.create_server(("127.0.0.1", int(port)))
        threading.Thread(target=_serve, args=(listener, path), daemon=True).start()
    child = subprocess.Popen(command)

    def stop(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.exit(child.wait())


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
