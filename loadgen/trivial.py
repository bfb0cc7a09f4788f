"""A trivial HTTP endpoint (``GET /`` answers ``ok``) for measuring a load generator's own ceiling.

``python -m observatory.loadgen.trivial --port N``: aiohttp's server, one process, no logging.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aiohttp import web


async def _ok(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def main(argv: Sequence[str] | None = None) -> int:
    """Serve ``GET /`` on 127.0.0.1 until stopped."""
    parser = argparse.ArgumentParser(prog="python -m observatory.loadgen.trivial", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = web.Application()
    app.router.add_get("/", _ok)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
