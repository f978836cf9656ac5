"""Serve the offline engine as a Workers-AI-compatible endpoint.

    python -m components.local --port 8788
    curl -H "Authorization: Bearer x" http://127.0.0.1:8788/client/v4/accounts/local/ai/run/@local/smollm2-135m-instruct \
         -d '{"messages":[{"role":"user","content":"Hi"}]}'
Point the official SDK or this app elsewhere at it with CLOUDFLARE_BASE_URL=http://127.0.0.1:8788/client/v4.
"""

from __future__ import annotations

import argparse
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .engine import LocalEngine


def asgi_app(engine: LocalEngine) -> Starlette:
    async def endpoint(request: Request) -> Response:
        answer = await engine.handle(
            request.method, request.url.path, dict(request.query_params), dict(request.headers), await request.body()
        )
        if answer.stream is not None:
            return StreamingResponse(answer.stream, status_code=answer.status, headers=answer.headers)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the offline Workers AI engine.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--token", default=os.environ.get("LOCAL_ENGINE_TOKEN"),
                        help="require this bearer token (default: accept any)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import uvicorn

    print(f"Workers AI offline engine: CLOUDFLARE_BASE_URL=http://{args.host}:{args.port}/client/v4", flush=True)
    uvicorn.run(asgi_app(LocalEngine(token=args.token)), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
