"""redis-py connections whose every socket operation ends by the current call's deadline.

redis-py's ``socket_timeout`` bounds each socket read on its own, so a server (or a path) that sends
one byte just before every timeout keeps a call alive as long as it likes: a cached read used to take
about a second behind a proxy dripping one byte per 5 ms, and a 64-text batch did not answer within
20 s. redis-py has no total deadline, so these connection classes set, before every blocking
operation (connect, TLS handshake, each send, each receive), the socket timeout to what is left of
the call (``serving.deadline``). Opening a connection runs against the connect allowance. Past the
deadline nothing waits any more; a read still takes reply bytes that have already arrived, so a
request whose own process stalled (not Redis) does not count a Redis failure.

Not bounded: DNS resolution (``getaddrinfo`` cannot be interrupted) and local CPU work between socket
operations (building the TLS context).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any

from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.credentials import CredentialProvider

from serving.deadline import DeadlinePassed, connecting, off_the_clock, seconds_left


class DeadlineSocket:
    """A connected socket that arms its timeout with what is left of the call before each operation.

    ``settimeout`` records what redis-py asks for: it applies outside any call, and for redis-py's
    non-blocking polls (0), which never wait.
    """

    def __init__(self, sock: socket.socket, timeout: float | None) -> None:
        self._sock = sock
        self._requested = timeout
        # A plain socket's timeout bounds a whole sendall; a TLS socket's, each chunk of it.
        self._chunked_sendall = isinstance(sock, ssl.SSLSocket)

    def _arm(self) -> None:
        requested = self._requested
        self._sock.settimeout(requested if requested == 0 else seconds_left(requested))

    def recv(self, size: int, flags: int = 0) -> bytes:
        return self._read(self._sock.recv, size, flags)

    def recv_into(self, buffer: Any, size: int = 0, flags: int = 0) -> int:
        return self._read(self._sock.recv_into, buffer, size, flags)

    def _read[T](self, receive: Callable[..., T], *args: Any) -> T:
        try:
            self._arm()
        except DeadlinePassed:
            # Never wait past the deadline, but take a reply that has already arrived: the process
            # (descheduled, busy), not Redis, may have been the slow one.
            self._sock.settimeout(0)
            try:
                return receive(*args)
            except (BlockingIOError, ssl.SSLWantReadError):
                raise DeadlinePassed("Redis call deadline passed") from None
        return receive(*args)

    def send(self, data: Any, flags: int = 0) -> int:
        self._arm()
        return self._sock.send(data, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        if not self._chunked_sendall:
            self._arm()
            self._sock.sendall(data, flags)
            return
        view = memoryview(data).cast("B")  # re-arm before every chunk
        while view:
            self._arm()
            view = view[self._sock.send(view, flags) :]

    def settimeout(self, timeout: float | None) -> None:
        self._requested = timeout

    def gettimeout(self) -> float | None:
        return self._requested

    def __getattr__(self, name: str) -> Any:  # fileno, shutdown, close, getpeername, pending, ...
        return getattr(self._sock, name)


class _DeadlineMixin:
    _socket_connect_timeout: float | None
    _socket_timeout: float | None

    def connect_check_health(self, check_health: bool = True, retry_socket_connect: bool = True) -> None:
        # Connect, TLS handshake and the connection's own commands (HELLO/AUTH, CLIENT SETINFO, SELECT).
        if getattr(self, "_sock", None) is not None:
            return
        with connecting():
            # A mixin: the method is the redis Connection class's, which mypy cannot see from here.
            super().connect_check_health(check_health, retry_socket_connect)  # type: ignore[misc]

    @property
    def socket_connect_timeout(self) -> float | None:
        return seconds_left(self._socket_connect_timeout)  # read right before each connect() attempt

    @socket_connect_timeout.setter
    def socket_connect_timeout(self, value: float | None) -> None:
        self._socket_connect_timeout = value

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        # redis-py packs a command over ~6 kB (a 64-text batch's values) as several chunks and sends each
        # with its own sendall: a syscall, and a wake-up of the server, per chunk. One buffer, one send.
        if not isinstance(command, str | bytes) and len(command) > 1:
            command = [b"".join(command)]
        super().send_packed_command(command, check_health)  # type: ignore[misc]  # mixin, as below

    def _connect(self) -> DeadlineSocket:
        return DeadlineSocket(super()._connect(), self._socket_timeout)  # type: ignore[misc]  # mixin, as above


class DeadlineConnection(_DeadlineMixin, Connection):
    pass


class DeadlineSSLConnection(_DeadlineMixin, SSLConnection):
    def _wrap_socket_with_ssl(self, sock: socket.socket) -> Any:
        sock.settimeout(seconds_left(self._socket_timeout))  # Python bounds a whole handshake by it
        return super()._wrap_socket_with_ssl(sock)  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated


class DeadlineUnixConnection(_DeadlineMixin, UnixDomainSocketConnection):
    pass


def connection_class(url: str) -> type[Connection] | type[UnixDomainSocketConnection]:
    """The deadline-aware connection class for a redis://, rediss:// or unix:// URL."""
    if url.startswith("rediss://"):
        return DeadlineSSLConnection
    if url.startswith("unix://"):
        return DeadlineUnixConnection
    return DeadlineConnection


class OffTheClockCredentials(CredentialProvider):
    """A credential provider whose fetch (Secrets Manager, on a new connection) is not Redis time."""

    def __init__(self, provider: CredentialProvider) -> None:
        self.provider = provider

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        with off_the_clock():
            return self.provider.get_credentials()

    def __repr__(self) -> str:
        return f"OffTheClockCredentials({self.provider!r})"
