"""TLS as a layer over any byte stream: ``tcp://host:2376`` with ``DOCKER_TLS_VERIFY``.

TLS runs over memory BIOs rather than a wrapped socket so that half-close works like the
docker CLI's: `close_write()` sends close_notify and shuts the write side while the reply keeps
coming in — stdin EOF for attach/exec over TLS.
"""

from __future__ import annotations

import collections
import ssl
import threading

from engineapi.errors import ConnectError, ConnectionLost
from engineapi.transports.base import READ_SIZE, AsyncStream, Stream, Transport, TruncatedStream

__all__ = ["AsyncTLSStream", "TLSStream", "TLSTransport"]


class _TLSState:
    """The TLS object and its two memory buffers, shared by both stream flavours."""

    __slots__ = ("ended", "incoming", "outgoing", "readahead", "received", "sslobj", "write_closed")

    def __init__(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.sslobj = context.wrap_bio(
            self.incoming, self.outgoing, server_side=False, server_hostname=server_hostname
        )
        self.write_closed = False
        self.received = False
        #: Output decrypted early (see `shut_down_writing`), handed out before anything else.
        self.readahead: collections.deque[bytes] = collections.deque()
        self.ended = False  # the daemon's close_notify came with the read-ahead

    def pending_output(self) -> bytes:
        return self.outgoing.read() if self.outgoing.pending else b""

    def feed(self, data: bytes) -> None:
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def try_read(self, max_bytes: int) -> bytes | None:
        """Output to hand out (``b""`` at the end), or None when more must be fed in.

        What `shut_down_writing` decrypted early comes first.
        """
        if self.readahead:
            data = self.readahead.popleft()
            if len(data) > max_bytes:
                self.readahead.appendleft(data[max_bytes:])
                data = data[:max_bytes]
            return data
        return self._decrypt(max_bytes)

    def _decrypt(self, max_bytes: int) -> bytes | None:
        """The next plaintext, ``b""`` once the daemon has ended, None if none is buffered.

        Only a close_notify ends the stream: TCP closed without one cuts it (a daemon killed,
        a middlebox), and a close-delimited body or hijacked stream would otherwise look
        complete — `TruncatedStream`.
        """
        if self.ended:
            return b""
        try:
            data = self.sslobj.read(max_bytes)
        except ssl.SSLWantReadError:
            return None
        except ssl.SSLZeroReturnError:
            data = b""  # close_notify
        except ssl.SSLEOFError as exc:
            raise TruncatedStream(
                "the daemon closed the TLS connection without a close_notify: what was being "
                "read may be cut short"
            ) from exc
        if not data:
            self.ended = True
            return b""
        self.received = True
        return data

    def close_writing(self) -> bytes | None:
        """The bytes that end our write side (close_notify), to send before the TCP
        half-close; ``None`` when it was closed already."""
        if self.write_closed:
            return None
        self.write_closed = True
        try:
            self.shut_down_writing()
        except ssl.SSLError as exc:
            raise ConnectionLost(f"TLS error closing the write side: {exc}") from exc
        return self.pending_output()

    def shut_down_writing(self) -> None:
        """Queue our close_notify (reading goes on: TLS 1.3 half-close).

        ``unwrap()`` calls ``SSL_shutdown`` a second time, which reads, and refuses
        application data (APPLICATION_DATA_AFTER_CLOSE_NOTIFY): the daemon's output already
        received is decrypted into `readahead` first.
        """
        while data := self._decrypt(READ_SIZE):
            self.readahead.append(data)
        try:
            self.sslobj.unwrap()
        except ssl.SSLWantReadError:
            pass  # close_notify is queued; the daemon's may come later, reads go on


def _handshake_failed(exc: Exception, where: str) -> ConnectError:
    return ConnectError(f"TLS handshake with {where} failed: {exc}", host=where)


def _read_failed(tls: _TLSState, exc: ssl.SSLError, where: str) -> ConnectError | ConnectionLost:
    if not tls.received:
        # With TLS 1.3 the daemon refuses a client certificate after our side of the
        # handshake is done: the refusal arrives as the first thing we read.
        return ConnectError(
            f"{where} refused the TLS connection: {exc.reason or exc}; it may require a client "
            "certificate it trusts (cert.pem and key.pem in DOCKER_CERT_PATH)",
            host=where,
        )
    return ConnectionLost(f"TLS error reading from {where}: {exc}")


class TLSStream:
    """A blocking TLS `Stream` over another blocking stream.

    One thread may read while another writes (the stdin of an attach): OpenSSL's objects must
    not be used by two threads at once, so the TLS object is used under `_tls_lock`, which is
    never held while the socket blocks, and `_send_lock` keeps the records on the wire in the
    order they were made. A reader never waits for a blocked writer.
    """

    __slots__ = ("_raw", "_send_lock", "_tls", "_tls_lock", "_where")

    def __init__(self, raw: Stream, tls: _TLSState, where: str) -> None:
        self._raw = raw
        self._tls = tls
        self._where = where
        self._tls_lock = threading.Lock()
        self._send_lock = threading.Lock()

    @classmethod
    def handshake(
        cls,
        raw: Stream,
        context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None,
        *,
        describe: str,
    ) -> TLSStream:
        tls = _TLSState(context, server_hostname)
        try:
            while True:
                try:
                    tls.sslobj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    if out := tls.pending_output():
                        raw.write(out, timeout)
                    tls.feed(raw.read(READ_SIZE, timeout))
            if out := tls.pending_output():
                raw.write(out, timeout)
        except ssl.SSLError as exc:
            raw.close()
            raise _handshake_failed(exc, describe) from exc
        except BaseException:
            raw.close()
            raise
        return cls(raw, tls, describe)

    def read(self, max_bytes: int, timeout: float | None) -> bytes:
        tls = self._tls
        while True:
            with self._tls_lock:
                try:
                    data = tls.try_read(max_bytes)
                except ssl.SSLError as exc:
                    raise _read_failed(tls, exc, self._where) from exc
            if data is not None:
                return data
            self._flush(timeout)
            incoming = self._raw.read(READ_SIZE, timeout)
            with self._tls_lock:
                tls.feed(incoming)

    def _flush(self, timeout: float | None) -> None:
        """Send what reading made the TLS object say, unless a writer is sending (it goes
        out with the next write or read)."""
        if not self._send_lock.acquire(blocking=False):
            return
        try:
            with self._tls_lock:
                out = self._tls.pending_output()
            if out:
                self._raw.write(out, timeout)
        finally:
            self._send_lock.release()

    def write(self, data: bytes, timeout: float | None) -> None:
        with self._send_lock:
            with self._tls_lock:
                try:
                    self._tls.sslobj.write(data)
                except ssl.SSLError as exc:
                    raise ConnectionLost(f"TLS error writing to the daemon: {exc}") from exc
                out = self._tls.pending_output()
            self._raw.write(out, timeout)

    def close_write(self) -> None:
        with self._send_lock:
            with self._tls_lock:
                out = self._tls.close_writing()
            if out is None:
                return
            if out:
                self._raw.write(out, None)
            self._raw.close_write()

    def close(self) -> None:
        self._raw.close()

    def is_readable(self) -> bool:
        tls = self._tls
        return bool(tls.readahead) or tls.incoming.pending > 0 or self._raw.is_readable()


class AsyncTLSStream:
    """An asyncio TLS `AsyncStream` over another asyncio stream."""

    __slots__ = ("_raw", "_tls", "_where")

    def __init__(self, raw: AsyncStream, tls: _TLSState, where: str) -> None:
        self._raw = raw
        self._tls = tls
        self._where = where

    @classmethod
    async def handshake(
        cls,
        raw: AsyncStream,
        context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None,
        *,
        describe: str,
    ) -> AsyncTLSStream:
        tls = _TLSState(context, server_hostname)
        try:
            while True:
                try:
                    tls.sslobj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    if out := tls.pending_output():
                        await raw.write(out, timeout)
                    tls.feed(await raw.read(READ_SIZE, timeout))
            if out := tls.pending_output():
                await raw.write(out, timeout)
        except ssl.SSLError as exc:
            await raw.aclose()
            raise _handshake_failed(exc, describe) from exc
        except BaseException:
            await raw.aclose()
            raise
        return cls(raw, tls, describe)

    async def read(self, max_bytes: int, timeout: float | None) -> bytes:
        tls = self._tls
        while True:
            try:
                data = tls.try_read(max_bytes)
            except ssl.SSLError as exc:
                raise _read_failed(tls, exc, self._where) from exc
            if data is not None:
                return data
            if out := tls.pending_output():
                await self._raw.write(out, timeout)
            tls.feed(await self._raw.read(READ_SIZE, timeout))

    async def write(self, data: bytes, timeout: float | None) -> None:
        try:
            self._tls.sslobj.write(data)
        except ssl.SSLError as exc:
            raise ConnectionLost(f"TLS error writing to the daemon: {exc}") from exc
        await self._raw.write(self._tls.pending_output(), timeout)

    async def close_write(self) -> None:
        out = self._tls.close_writing()
        if out is None:
            return
        if out:
            await self._raw.write(out, None)
        await self._raw.close_write()

    async def aclose(self) -> None:
        await self._raw.aclose()

    def is_readable(self) -> bool:
        tls = self._tls
        return bool(tls.readahead) or tls.incoming.pending > 0 or self._raw.is_readable()


class TLSTransport:
    """TLS over another transport (normally `TCPTransport`)."""

    def __init__(
        self, inner: Transport, context: ssl.SSLContext, server_hostname: str | None
    ) -> None:
        self.inner = inner
        self.context = context
        self.server_hostname = server_hostname
        self.address = inner.address

    def connect(self, timeout: float | None) -> TLSStream:
        raw = self.inner.connect(timeout)
        return TLSStream.handshake(
            raw, self.context, self.server_hostname, timeout, describe=self.address
        )

    async def aconnect(self, timeout: float | None) -> AsyncTLSStream:
        raw = await self.inner.aconnect(timeout)
        return await AsyncTLSStream.handshake(
            raw, self.context, self.server_hostname, timeout, describe=self.address
        )

    def __repr__(self) -> str:
        return f"TLSTransport({self.inner!r})"
