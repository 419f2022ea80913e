"""The edge's HTTP protocol on a stand-in transport: a client that does not read its answers gets no more at once."""
from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.server import ServerState

from edge.http.protocol import EdgeProtocol
from tests.integration.test_edge_protocol import App

REQUEST = b"GET /away HTTP/1.1\r\nHost: x\r\n\r\n"


class Transport(asyncio.Transport):
    """Records what is written; reading can be paused as uvicorn's flow control asks."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.reading = True

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def get_extra_info(self, name, default=None):
        return default

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        pass


def test_answers_wait_while_the_client_does_not_read_them():
    loop = asyncio.new_event_loop()
    try:
        config = uvicorn.Config(App(), http=EdgeProtocol, proxy_headers=False, lifespan="off", access_log=False)
        config.load()
        protocol = EdgeProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
        transport = Transport()
        protocol.connection_made(transport)
        protocol.data_received(REQUEST)
        assert len(transport.written) == 1 and transport.written[0].endswith(b"\r\n\r\naway")  # at once
        protocol.pause_writing()  # the transport's buffer is full: the client is not reading
        protocol.data_received(REQUEST + REQUEST)
        loop.run_until_complete(asyncio.sleep(0.05))  # let the app's task run as far as it can
        assert len(transport.written) == 1 and not transport.reading  # nothing more piled up, reading stopped
        protocol.resume_writing()
        deadline = loop.time() + 5
        while b"".join(transport.written).count(b"app:/away") < 2:
            assert loop.time() < deadline, transport.written
            loop.run_until_complete(asyncio.sleep(0.01))
        assert b"".join(transport.written[1:]).count(b"HTTP/1.1 200 OK") == 2  # both, in order, the app's way
    finally:
        loop.close()
