"""A small keep-alive HTTP/1.1 server for load tests: ``python target_server.py`` prints its port.

``GET /status/N`` answers status N; everything else answers 200 with a short body. It runs
as a process of its own, as a real target would, so a test can pause it (SIGSTOP); it
exits when its stdin closes.
"""

from __future__ import annotations

import asyncio
import sys


class Handler(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            status = 200
            if path.startswith(b"/status/"):
                status = int(path.rsplit(b"/", 1)[1])
            body = b"ok"
            self.transport.write(
                b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s"
                % (status, len(body), b"" if head.startswith(b"HEAD ") else body)
            )


async def main() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Handler, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    # stdin is a pipe from the test: it closes when the test process dies, however it
    # dies, so the server never outlives it
    await loop.run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(main())
