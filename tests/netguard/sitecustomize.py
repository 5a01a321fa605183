"""Loaded by every notebook kernel the tests start (it is put on PYTHONPATH).

An audit hook refuses, before any packet is sent, every socket connection and host-name
lookup that is not for the loopback interface, and appends what it refused to the file
named by ``LRCOURSE_NETWORK_LOG``, so a test can fail even when a lesson swallows the
exception.
"""

import ipaddress
import os
import sys

_LOG = os.environ.get("LRCOURSE_NETWORK_LOG")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host is None or host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(what + "\n")
    raise ConnectionRefusedError(f"lrcourse tests allow only loopback connections: {what}")


def _hook(event: str, args: tuple) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            _refuse(f"connect to {address!r}")
    elif event == "socket.getaddrinfo":
        if not _is_loopback(args[0]):
            _refuse(f"look up {args[0]!r}")


if _LOG:
    sys.addaudithook(_hook)
