"""How the HTTP server closes a connection while the client may still be sending on it.

uvicorn closes a connection as soon as it has answered a request it will not keep the
connection for: one it cannot parse (a NUL in a header value: 400), or one answered with
`Connection: close` before its body arrived (414, a 413 past the drain budget, a 500). If the
rest of the request reaches the socket before that close, the kernel answers it with a reset
instead of a FIN, and the reset can erase the response before the client reads it: the client
sees "connection reset" instead of its 400 (RFC 9112, section 9.6). `LingeringH11Protocol`
closes such a connection the way that section asks: the response, then a FIN, then whatever the
client still sends is read and dropped until the client closes too, or `LINGER_S` has passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

LINGER_S = 2.0  # long enough for the client to read the answer and close; bounds a slow one
STILL_SENDING = (h11.SEND_BODY, h11.ERROR)  # mid-body, or mid-request the parser refused


class LingeringTransport(asyncio.Transport):
    """A connection's transport whose `close()` lingers while `still_sending()`: it flushes the
    response, sends a FIN and gives the client `linger_s` seconds to close its side."""

    def __init__(
        self,
        transport: asyncio.Transport,
        still_sending: Callable[[], bool],
        linger_s: float = LINGER_S,
    ) -> None:
        super().__init__()
        self._transport = transport
        self._still_sending = still_sending
        self._linger_s = linger_s
        self._deadline: asyncio.TimerHandle | None = None
        self.lingering = False

    def close(self) -> None:
        if self.lingering or self._transport.is_closing():
            return
        if not self._still_sending() or not self._transport.can_write_eof():
            self._transport.close()
            return
        self.lingering = True
        self._transport.write_eof()  # after what is buffered: the response reaches the client
        self._transport.resume_reading()  # the rest of the request is read, so never reset
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._linger_s, self._transport.close)

    def closed(self) -> None:
        """The connection is gone: the lingering ends."""
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._transport.write(data)

    def write_eof(self) -> None:
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def abort(self) -> None:
        self.closed()
        self._transport.abort()

    def pause_reading(self) -> None:
        if not self.lingering:  # a lingering connection drains whatever arrives
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class LingeringH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection the client is still sending on gracefully
    (pass it as `uvicorn.Config(http=...)`)."""

    transport: LingeringTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(LingeringTransport(transport, self._still_sending, LINGER_S))

    def _still_sending(self) -> bool:
        return self.conn.their_state in STILL_SENDING

    def data_received(self, data: bytes) -> None:
        if self.transport.lingering:
            return  # the rest of a request already answered: dropped
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport.closed()
        super().connection_lost(exc)
