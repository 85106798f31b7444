"""A minimal keep-alive HTTP/1.1 client on asyncio streams: cheap enough not to be the bottleneck."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class RawConnection:
    """One persistent connection sending requests with a Content-Length body, one at a time."""

    def __init__(self, url: str, headers: dict[str, str]):
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        fixed = {"host": f"{self._host}:{self._port}", **headers}
        self._headers = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """Send one request and return (status, body); reconnects when the server closed the connection."""
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        head = f"{method} {path} HTTP/1.1\r\ncontent-length: {len(body)}\r\n".encode()
        self._writer.write(head + self._headers + b"\r\n" + body)
        status_line = await self._reader.readuntil(b"\r\n")
        length, close = 0, False
        while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        content = await self._reader.readexactly(length)
        if close:
            await self.close()
        return int(status_line.split()[1]), content

    async def close(self) -> None:
        """Close the connection."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
