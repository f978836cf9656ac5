"""Auto-route end to end against both fakes (Workers AI and Anthropic, real HTTP on loopback): the edge route,
escalation to the 70B and to Claude, escalations that fail and fall back to the edge, the judge failing, budgets,
offline mode, and the session summary's arithmetic."""

import pytest

from components.tabs import chat, chat_routing
from components.core.routing import (
    EDGE, ESCALATED, FALLBACK, OFFLINE, OFFLINE_ESCALATION, RouteInfo, RouteSummary, SummaryStore, Target,
    WORKERS_AI, price_usd,
)
from tests.fake_anthropic import AnthropicFault
from tests.fake_workers_ai import Fault
from tests.conftest import answer
from tests.routing_fixtures import *  # noqa: F403
from tests.routing_fixtures import (
    COMPLEX_PROMPT, EDGE_MODEL, EMBED_MODEL, SEVENTY_B, SIMPLE_PROMPT, route,
)

FAKE_REPLY = "Hello! I am your friendly assistant — happy to help 🙂."


def chat_runs(fake):
    return [r for r in fake.requests if r.model and r.model != EMBED_MODEL]


def test_a_simple_question_is_answered_at_the_edge(client, fake):
    reply, info, outputs = route(SIMPLE_PROMPT, system_prompt="Be brief.")
    assert reply == FAKE_REPLY
    assert info.route == EDGE and info.model == EDGE_MODEL and info.at_edge
    assert info.verdict.label == "simple" and info.verdict.judge == "embedding · bge-small-en-v1.5"
    assert [r.model for r in chat_runs(fake)] == [EDGE_MODEL]
    assert chat_runs(fake)[0].json["messages"][0] == {"role": "system", "content": "Be brief."}
    assert outputs[0][0] == "", "the page shows the judge at work before any text"
    line = info.line()
    assert "Edge → llama-3.1-8b-instruct-fast" in line and "judge: simple 0." in line
    assert "cost ≈ $" in line and "on llama-3.3-70b-instruct-fp8-fast: ≈ $" in line
    assert info.baseline_usd == pytest.approx(Target(WORKERS_AI, SEVENTY_B).cost_usd(info.input_tokens,
                                                                                       info.output_tokens))


def test_a_complex_question_escalates_to_the_70b_and_is_metered(client, fake, budget):
    ledger = budget()  # no limits: just a fresh ledger to read
    reply, info, _ = route(COMPLEX_PROMPT)
    assert reply == FAKE_REPLY
    assert info.route == ESCALATED and info.model == SEVENTY_B and not info.at_edge
    assert [r.model for r in chat_runs(fake)] == [SEVENTY_B]
    assert chat_runs(fake)[0].json["stream"] is True
    assert "Escalated → llama-3.3-70b-instruct-fp8-fast" in info.line() and "judge: complex" in info.line()
    assert ledger.snapshot().today[("Text Generation", SEVENTY_B)] > 0, "the 70B call counts against budgets"
    assert info.answer_usd == pytest.approx(info.baseline_usd)


def test_the_workers_ai_escalation_model_comes_from_the_environment(client, fake, monkeypatch):
    monkeypatch.setenv("ROUTING_ESCALATION_MODEL", "@cf/google/gemma-4-26b-a4b-it")
    reply, info, _ = route(COMPLEX_PROMPT)
    assert info.route == ESCALATED and [r.model for r in chat_runs(fake)] == ["@cf/google/gemma-4-26b-a4b-it"]
    assert reply == FAKE_REPLY and "Escalated → gemma-4-26b-a4b-it" in info.line()


def test_a_complex_question_escalates_to_anthropic_when_a_key_is_set(client, fake, anthropic, fake_anthropic):
    history = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    fake_anthropic.token_delay = 0.06  # slower than the page's update cadence, so each token is its own update
    reply, info, outputs = route(COMPLEX_PROMPT, history, system_prompt="Think carefully.")
    assert reply == "".join(fake_anthropic.tokens)
    assert len({r for r, _ in outputs if r}) >= 3, "Claude's answer streams"
    assert info.route == ESCALATED and info.model == "claude-sonnet-4-5"
    assert chat_runs(fake) == [], "no Workers AI chat model was asked"
    sent = fake_anthropic.requests[-1].json
    assert sent["system"] == "Think carefully." and sent["messages"][-1]["content"] == COMPLEX_PROMPT
    assert info.answer_usd == pytest.approx(price_usd("claude-sonnet-4-5", info.input_tokens, info.output_tokens))
    assert info.output_tokens == len(fake_anthropic.tokens)
    assert "Escalated → claude-sonnet-4-5 (Anthropic)" in info.line()
    assert info.to_dict()["cost_usd"] == pytest.approx(info.answer_usd + info.judge_usd)


def test_simple_questions_stay_at_the_edge_even_with_anthropic(client, fake, anthropic, fake_anthropic):
    _, info, _ = route(SIMPLE_PROMPT)
    assert info.route == EDGE and fake_anthropic.requests == []
    assert info.baseline.model == "claude-sonnet-4-5", "savings are measured against the live target"


def test_anthropic_failing_falls_back_to_the_edge_and_says_so(client, fake, anthropic, fake_anthropic):
    fake_anthropic.fail(*[AnthropicFault.error(529, "overloaded_error", "Overloaded")] * 3)
    reply, info, _ = route(COMPLEX_PROMPT)
    assert reply == FAKE_REPLY and info.route == FALLBACK and info.model == EDGE_MODEL and info.at_edge
    assert "Escalation to claude-sonnet-4-5 (Anthropic) failed" in info.note and "overloaded" in info.note
    assert "Edge fallback → llama-3.1-8b-instruct-fast" in info.line() and "⚠️" in info.line()
    assert [r.model for r in chat_runs(fake)] == [EDGE_MODEL]


def test_anthropic_failing_mid_answer_replaces_the_partial_answer(client, fake, anthropic, fake_anthropic):
    fake_anthropic.fail(AnthropicFault.stream_error(after_tokens=3))
    reply, info, outputs = route(COMPLEX_PROMPT)
    assert "".join(fake_anthropic.tokens[:3]) in [r for r, _ in outputs], "the partial answer was seen"
    assert reply == FAKE_REPLY and info.route == FALLBACK and "overloaded" in info.note


def test_a_wrong_anthropic_key_falls_back_at_once(client, fake, anthropic, fake_anthropic, monkeypatch):
    from components.core.routing import Anthropic, AnthropicSettings, use_anthropic

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong")
    use_anthropic(Anthropic(AnthropicSettings.from_env()))
    _, info, _ = route(COMPLEX_PROMPT)
    assert info.route == FALLBACK and "API key was rejected" in info.note
    assert len(fake_anthropic.requests) == 1, "authentication errors are not retried"


def test_the_70b_failing_falls_back_to_the_edge(client, fake):
    fake.fail(*[Fault.error(503, 7009, "Upstream service unavailable")] * 3, model=SEVENTY_B)
    reply, info, _ = route(COMPLEX_PROMPT)
    assert reply == FAKE_REPLY and info.route == FALLBACK
    assert "Escalation to llama-3.3-70b-instruct-fp8-fast failed" in info.note
    assert [r.model for r in chat_runs(fake)] == [SEVENTY_B] * 3 + [EDGE_MODEL]


def test_a_budget_that_cannot_cover_the_70b_falls_back_to_the_edge(client, fake, budget):
    # 512 output tokens on the 70B reserve ~105 neurons, on the 8B ~18: a budget of 60 fits only the edge.
    budget(per_visitor=60)
    reply, info, _ = route(COMPLEX_PROMPT, max_tokens=512)
    assert info.route == FALLBACK and "budget" in info.note and reply == FAKE_REPLY
    assert SEVENTY_B not in [r.model for r in fake.requests], "a refused call sends nothing"


def test_a_failing_judge_lets_the_keywords_decide(client, fake):
    fake.fail(*[Fault.error(500, 7009, "Internal error")] * 3, model=EMBED_MODEL)
    _, info, _ = route(COMPLEX_PROMPT)
    assert info.verdict.judge == "keywords" and "judge failed" in info.verdict.reason
    assert info.route == ESCALATED


def test_bad_input_is_refused_before_judging(client, fake):
    with pytest.raises(Exception, match="Type a message first"):
        route("   ")
    assert fake.requests == []


def test_offline_a_complex_question_gets_a_clear_unavailable_message(offline_engine_client):
    from components.core import backend
    from components import workers_ai

    backend.use_client(offline_engine_client)
    try:
        reply, info, _ = route(COMPLEX_PROMPT, max_tokens=24)
        assert info.route == OFFLINE and info.target is None and info.offline
        assert reply.startswith(OFFLINE_ESCALATION) and len(reply) > len(OFFLINE_ESCALATION)
        assert "Escalation unavailable offline → local smollm2-135m-instruct" in info.line()
        assert "would cost" in info.line()
        _, simple, _ = route(SIMPLE_PROMPT, max_tokens=16)
        assert simple.route == EDGE and simple.model == "@local/smollm2-135m-instruct"
        # The notice is the app talking: it is not sent back to the model as something it said.
        history = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": reply}]
        from components.core.routing.router import clean_history

        assert not clean_history(history)[1]["content"].startswith("**Escalation")
    finally:
        backend.use_client(workers_ai.WorkersAI(workers_ai.Settings()))


# ── the chat tab's functions ──────────────────────────────────────────────────────────────


def test_the_chat_tab_in_auto_route_shows_the_route_line_and_updates_the_summary(client, fake):
    store_before = chat_routing.session_summary(None)
    outputs = answer(chat.respond(SIMPLE_PROMPT, [], "", "", 128, 0.6, chat_routing.AUTO_ROUTE))
    reply, line = outputs[-1]
    assert reply == FAKE_REPLY and "Edge →" in line and "tokens/s" in line
    assert any("Judging" in text for _, text in outputs)
    summary = chat_routing.session_summary(None)
    assert summary != store_before and "at the edge" in summary


def test_single_model_mode_is_unchanged(client, fake):
    outputs = answer(chat.respond(COMPLEX_PROMPT, [], GLM := "@cf/zai-org/glm-4.7-flash", "", 64, 0.6,
                                   chat_routing.SINGLE_MODEL))
    assert [r.model for r in fake.requests] == [GLM], "no judge, no escalation"
    assert "tokens/s" in outputs[-1][1] and "Edge" not in outputs[-1][1]


def test_routed_errors_become_a_notice_not_a_trace(client, fake):
    fake.fail(*[Fault.error(401, 10000, "Authentication error")] * 4)
    messages, line = answer(chat.respond(SIMPLE_PROMPT, [], "", "", 64, 0.6, chat_routing.AUTO_ROUTE))[-1]
    assert messages[-1].startswith(chat.ERROR_PREFIX) and "token was rejected" in messages[-1] and line == ""


# ── the summary ───────────────────────────────────────────────────────────────────────────


def info(route, spent, baseline, offline=False):
    result = RouteInfo(route, EDGE_MODEL, Target(WORKERS_AI, SEVENTY_B), offline=offline, finished=True)
    result.answer_usd, result.baseline_usd = spent, baseline
    return result


def test_summary_math():
    summary = RouteSummary()
    for item in [info(EDGE, 0.001, 0.010)] * 7 + [info(FALLBACK, 0.001, 0.010), info(OFFLINE, 0.001, 0.010),
                                                  info(ESCALATED, 0.020, 0.020), info(ESCALATED, 0.030, 0.030)]:
        summary.add(item)
    assert (summary.answers, summary.at_edge, summary.escalated, summary.fallbacks) == (11, 9, 2, 1)
    assert summary.edge_share == pytest.approx(9 / 11)
    assert summary.spent_usd == pytest.approx(0.059) and summary.baseline_usd == pytest.approx(0.14)
    assert summary.saved_usd == pytest.approx(0.081)
    line = summary.line()
    assert line.startswith("**82% at the edge**") and "2 escalated" in line and "1 fell back" in line
    assert "saved ≈ $0.081 (58%) vs sending everything to llama-3.3-70b-instruct-fp8-fast" in line


def test_summary_says_when_routing_cost_more_and_leaves_unknown_prices_out():
    summary = RouteSummary()
    summary.add(info(EDGE, 0.002, 0.001))
    summary.add(info(EDGE, None, 0.5))
    assert summary.answers == 2 and summary.unpriced == 1 and summary.baseline_usd == pytest.approx(0.001)
    assert "≈ $0.0010 more than sending everything to llama-3.3-70b" in summary.line() and "without a known price" in summary.line()
    offline = RouteSummary()
    offline.add(info(OFFLINE, 0.001, 0.01, offline=True))
    assert "would save" in offline.line() and "Workers AI list prices" in offline.line()


def test_summaries_are_per_session_and_bounded():
    store = SummaryStore(capacity=2)
    store.add("a", info(EDGE, 0.0, 0.0))
    store.add("b", info(ESCALATED, 0.0, 0.0))
    store.add("c", info(EDGE, 0.0, 0.0))
    assert store.get("a").answers == 0 and store.get("b").escalated == 1 and store.get("c").at_edge == 1
