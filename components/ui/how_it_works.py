"""The "How it works" panel of each tab: what the tab does, and the exact requests its last answer sent.

The shared client records every request it sends while an action is metered (components/workers_ai/_trace.py);
after each answer a private event shows this session's last record for that action: method, URL (the account
id as `{account_id}`), headers by name with the token as `$CLOUDFLARE_API_TOKEN`, body type and size, the JSON
body with long values shortened (as recorded: a base64 upload is never kept whole), and the answer's status and
time. The public endpoints return what they always returned; the panel reaches the page the same way the cost
line does (components/ui/panels.py).
"""

from __future__ import annotations

import json
import re
import time
import gradio as gr

from ..core.backend import is_offline
from ..workers_ai import SentRequest, Trace, curl_command

# What each action does, in a sentence or two: the static half of the panel.
EXPLAINERS = {
    "chat": (
        "The system prompt, the conversation so far and your message go to the model in **one JSON request** with "
        "`\"stream\": true`. Workers AI answers with server-sent events, one per few tokens; the app decodes them "
        "as they arrive and the reply grows on the page. The last event carries the token counts the cost comes from. "
        "In Auto-route the judge's embedding request comes first; an escalation to Anthropic's API is not shown here."
    ),
    "classify": (
        "The image goes up **as its own bytes** (`application/octet-stream`): no base64 and no array of integers, "
        "so the request is the size of the file. Workers AI answers with labels and scores; the bars show the top five."
    ),
    "transcribe": (
        "The recording is decoded here, mixed to mono at 16 kHz and, if it is long, cut at quiet moments into "
        "pieces under the request size limit. Each piece goes up **as WAV bytes** (base64 inside JSON only for "
        "`whisper-large-v3-turbo`, which requires it); the texts and word timings are joined into the transcript "
        "and the subtitles."
    ),
    "embeddings": (
        "The sentences go up in **one JSON request per 100 distinct sentences** (duplicates are sent once). "
        "Workers AI returns one vector per sentence; the similarities, the map and the search ranking are computed "
        "here from those vectors, so a query costs one more small request."
    ),
    "documents": (
        "The question is embedded (**one small JSON request**) and compared with the stored passages of the "
        "collection: the embedded index in this app's state folder, or **Vectorize** with an account and "
        "`VECTORIZE_INDEX` set. The closest passages, numbered, go with the question to the chat model in one "
        "streamed request that asks it to cite them as [1], [2]…; when no passage is close enough, no model is asked."
    ),
    "playground": (
        "The form is built from the model's **published input schema** (`GET …/ai/models/schema`) and the body is "
        "checked against it here before anything is sent. One request goes to `…/ai/run/<model>`: JSON, or the file "
        "itself for models that take a bare upload. The answer is shown by what it is: JSON text, a raw image or MP3 "
        "body known by its `Content-Type`, or a file carried as base64 in a field the output schema names. Each "
        "request below is also written as the `curl` command that repeats it."
    ),
}
MAX_SHOWN = 3  # requests shown in full; the rest are summarised


def _body(entry: SentRequest) -> str:
    size = f"{entry.body_bytes:,} bytes"
    if entry.body_json is not None:
        return json.dumps(entry.body_json, indent=2, ensure_ascii=False)  # shortened when it was recorded
    if entry.body_bytes and "json" not in entry.content_type:
        return f"<{size} of binary data: the file itself, sent as it is>"
    return f"<{size}>" if entry.body_bytes else ""


def _answer(entry: SentRequest) -> str:
    if entry.failure:
        return f"→ no answer after {entry.seconds or 0:.2f} s: {entry.failure}"
    if entry.status is None:
        return "→ (waiting for the answer)"
    kind = "a stream of server-sent events" if entry.answer_type == "text/event-stream" else entry.answer_type
    when = "first byte after" if entry.answer_type == "text/event-stream" else "in"
    return f"→ HTTP {entry.status}, {kind or 'no body'}, {when} {entry.seconds:.2f} s"


def describe_request(entry: SentRequest) -> str:
    """One request as HTTP text, the token never included (it is not recorded in the first place)."""
    lines = [f"{entry.method} {entry.url}", "Authorization: Bearer $CLOUDFLARE_API_TOKEN"]
    lines += [f"{name}: Bearer $CLOUDFLARE_AI_GATEWAY_TOKEN" for name in entry.extra_headers]
    if entry.content_type:
        lines.append(f"Content-Type: {entry.content_type}")
    if entry.body_bytes:
        lines.append(f"Content-Length: {entry.body_bytes}")
    body = _body(entry)
    return "\n".join(lines) + (f"\n\n{body}" if body else "") + f"\n\n{_answer(entry)}"


def _fenced(text: str, language: str) -> str:
    """A code block that stays inert: a prompt's own backticks cannot close it."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}{language}\n{text}\n{fence}"


def describe_trace(trace: Trace | None, curl: bool = False) -> str:
    """The dynamic half of the panel, as Markdown; with `curl`, each request is also written as a curl command."""
    if trace is None:
        return "*Nothing sent yet from this page: the requests of the next answer appear here.*"
    when = time.strftime("%H:%M:%S UTC", time.gmtime(trace.began))
    if not trace:
        return f"*{when}: nothing was sent to Workers AI (the request was refused before it left, e.g. by a budget).*"
    total = sum(entry.body_bytes for entry in trace)
    where = "the offline engine (in-process, the same REST contract)" if is_offline() else "Workers AI"
    count = f"{len(trace)} request{'s' if len(trace) != 1 else ''}"
    parts = [f"**{when}: {count} to {where}, {total:,} bytes up.**"]
    for entry in trace[:MAX_SHOWN]:
        parts.append(_fenced(describe_request(entry), "http"))
        if curl:
            parts.append(_fenced(curl_command(entry, "your-file"), "bash"))
    if len(trace) > MAX_SHOWN:
        parts.append(f"*… and {len(trace) - MAX_SHOWN} more like these.*")
    return "\n\n".join(parts)


def sent_requests(render: bool = True) -> gr.Markdown:
    """The element the requests are shown in (made unrendered when an event must name it before `panel`)."""
    return gr.Markdown(describe_trace(None), elem_classes="sent-requests", render=render)


def panel(topic: str, requests: gr.Markdown | None = None) -> gr.Markdown:
    """A closed "How it works" accordion with the tab's explainer; returns the element the requests go in."""
    with gr.Accordion("How it works: the request sent to Workers AI", open=False, elem_classes="how-it-works"):
        gr.Markdown(EXPLAINERS[topic])
        if requests is None:
            return sent_requests()
        requests.render()
        return requests
