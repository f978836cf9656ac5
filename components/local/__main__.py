"""Serve the offline engine as a Workers-AI-compatible endpoint.

    python -m components.local --port 8788
    curl -H "Authorization: Bearer x" http://127.0.0.1:8788/client/v4/accounts/local/ai/run/@local/smollm2-135m-instruct \
         -H "Content-Type: application/json" -d '{"messages":[{"role":"user","content":"Hi"}]}'
Point the official `cloudflare` SDK or this app elsewhere at it with CLOUDFLARE_BASE_URL=http://127.0.0.1:8788/client/v4,
and the official `openai` SDK (LangChain, LlamaIndex…) with base_url=http://127.0.0.1:8788/client/v4/accounts/local/ai/v1.

What the server guarantees, because anything that can reach the port can send it anything:
- it listens beyond loopback only with a token (`--token` or LOCAL_ENGINE_TOKEN), and compares tokens in
  constant time;
- it never holds more than MAX_BODY_BYTES of a body: a wrong token or a declared Content-Length over the limit
  is answered (401, 413) before a byte of the body is read, a body sent without a length (chunked) is read
  piece by piece and refused with 413 the moment it passes the limit, and a malformed length gets 400;
- those refusals are Workers AI error envelopes (OpenAI error objects under /ai/v1/), and close the connection, so the rest of the body is not read.
"""

from __future__ import annotations

import argparse
import ipaddress
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .engine import MAX_BODY_BYTES, ApiError, EngineResponse, LocalEngine, too_large


async def _bounded_body(request: Request) -> bytes:
    """The body, read as it arrives and given up on as soon as it passes the limit, whatever was declared."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large()
    return bytes(body)


def _respond(answer: EngineResponse) -> Response:
    if answer.stream is not None:
        return StreamingResponse(answer.stream, status_code=answer.status, headers=answer.headers)
    return Response(answer.body, status_code=answer.status, headers=answer.headers)


def asgi_app(engine: LocalEngine) -> Starlette:
    async def endpoint(request: Request) -> Response:
        headers = dict(request.headers)
        try:
            engine.check_headers(headers)
            body = await _bounded_body(request)
        except ApiError as error:
            answer = engine.refusal(request.url.path, error)  # OpenAI's error object under /ai/v1/
            answer.headers["connection"] = "close"  # else uvicorn would drain the unwanted body to keep the connection
            return _respond(answer)
        query = dict(request.query_params)
        return _respond(await engine.handle(request.method, request.url.path, query, headers, body))

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])


def is_loopback(host: str) -> bool:
    """Only "localhost" and loopback addresses count: any other name may resolve anywhere, and 0.0.0.0 is everywhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refusal_to_listen(host: str, token: str | None) -> str | None:
    """Why the engine must not start on `host` with `token`, or None: beyond loopback, anyone on the network could
    use the models (and the CPU) of this machine."""
    if token or is_loopback(host):
        return None
    return (f"Refusing to listen on {host} without a token: pass --token (or set LOCAL_ENGINE_TOKEN), "
            "or listen on 127.0.0.1.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the offline Workers AI engine.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--token", default=os.environ.get("LOCAL_ENGINE_TOKEN"),
                        help="require this bearer token (default on loopback: accept any; required beyond it)")
    args = parser.parse_args(argv)
    if reason := refusal_to_listen(args.host, args.token):
        parser.exit(2, reason + "\n")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import uvicorn

    print(f"Workers AI offline engine: CLOUDFLARE_BASE_URL=http://{args.host}:{args.port}/client/v4", flush=True)
    uvicorn.run(asgi_app(LocalEngine(token=args.token or None)), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
