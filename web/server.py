"""Running the application under uvicorn (`tousu web`), with one fix of uvicorn's own.

uvicorn creates the listening socket it shares between several workers (or with --reload)
without naming the TCP protocol, so asyncio leaves Nagle's algorithm on for its connections,
and every response written in two parts waits for the client's delayed ACK: about 40 ms a
request, 23 requests a second on one keep-alive connection instead of 1,300 (measured with
bench/web.py's server). `NoDelayConfig` sets TCP_NODELAY on that socket; Linux passes it on to
every accepted connection. One worker binds its own socket through asyncio, which sets it.
"""

from __future__ import annotations

import contextlib
import socket

import uvicorn
from uvicorn.supervisors import ChangeReload, Multiprocess


class NoDelayConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def serve(
    *, host: str, port: int, workers: int, reload: bool, app_dir: str, forwarded_allow_ips: str
) -> None:
    """`web.app:create_app` on host:port; what uvicorn.run does, with NoDelayConfig."""
    config = NoDelayConfig(
        "web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        reload_dirs=[app_dir] if reload else None,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level="info",
    )
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        elif config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
