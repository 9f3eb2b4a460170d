"""``gradscape serve``: the interactive web page."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import socket
import sys
import threading
import webbrowser
from typing import Any

from ..errors import InputError
from .common import _add_verb, _int_in

DEFAULT_PORT = 8765
#: Seconds the server gives running requests after Ctrl-C before it stops anyway.
GRACE_SECONDS = 3


def register(sub: Any) -> None:
    serve = _add_verb(
        sub, "serve", _cmd_serve,
        "the interactive web page (weight space, functions, training, fitting, saved results)",
        "Serve gradscape's interactive page on this machine: the line in weight space, the "
        "function explorer, training, fitting a model and opening a saved result, in the "
        "browser. Works offline; stop it with Ctrl-C.",
    )  # fmt: skip
    serve.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on; the default is this machine only. 0.0.0.0 lets other "
             "machines in, with no password: only on a network you trust",
    )  # fmt: skip
    serve.add_argument("--port", type=_int_in(0, 65535), default=DEFAULT_PORT,
                       help="port to listen on; 0 picks a free one")  # fmt: skip
    serve.add_argument("--open", action="store_true", help="open the page in the web browser")


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (so a busy port is one clear line, not a log)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise InputError(
            f"--host {host!r} is not an address of this machine ({e.strerror})."
        ) from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        hint = "pick another with --port (0 picks a free one)" if port else "check --host"
        raise InputError(f"Cannot listen on {host}:{port}: {e.strerror}; {hint}.") from None
    sock.listen(128)
    return sock


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..web.app import create_app

    sock = _bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    if host in ("0.0.0.0", "::"):
        shown = "127.0.0.1"
    url = f"http://{shown}:{port}/"
    try:
        public = not ipaddress.ip_address(host).is_loopback
    except ValueError:
        public = True
    print(f"gradscape is serving its page at {url}  (Ctrl-C stops it)", flush=True)
    if public:
        print(f"note: listening on {host}, so other machines can reach this page; it has no "
              "password. Use the default --host 127.0.0.1 unless you mean it.", flush=True)  # fmt: skip
    if args.open:
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    app = create_app()
    # Ctrl-C: requests still running get GRACE_SECONDS, jobs are cancelled (app's lifespan)
    # log_config=None: uvicorn's own logging setup closes every handler already installed,
    # and absl's (JAX's dependencies install it) closes sys.stderr with it; its warnings still
    # reach stderr through logging's last-resort handler
    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=5, log_config=None,
                            timeout_graceful_shutdown=GRACE_SECONDS)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl-C again once stopped
        uvicorn.Server(config).run(sockets=[sock])
    print("gradscape: the page is stopped.", flush=True)
    # A request or job thread may still be inside SymPy or XLA; tearing the interpreter down
    # under it can abort the process, so leave at once (the temporary folder is already gone).
    sys.stderr.flush()
    os._exit(0)
