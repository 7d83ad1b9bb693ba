#!/usr/bin/env python3
"""Plays systemd's end of sd_notify(3) for service_test.sh: binds a unix datagram socket and
writes every message it receives as one line (fields joined by '|') to a log, at once."""
import os
import socket
import sys


def main():
    path, log = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)  # the daemons may run as another user, as under systemd
    with open(log, "a", buffering=1) as out:
        while True:
            msg = s.recv(4096).decode("utf-8", "replace")
            out.write("|".join(msg.strip("\n").split("\n")) + "\n")


if __name__ == "__main__":
    main()
