"""The official Anthropic Python SDK against the gateway's Messages API, with only
the base URL and the key changed (what Claude Code does with ANTHROPIC_BASE_URL
and ANTHROPIC_AUTH_TOKEN / ANTHROPIC_API_KEY): every answer must parse into the
SDK's types, streams must accumulate with `messages.stream()`, and each error
must become the SDK's class for it, whichever format the provider behind the
gateway speaks. Run by gateway/tests/anthropic_sdk.rs. Environment:
  GATEWAY_URL   the gateway's root, e.g. http://127.0.0.1:PORT (the SDK adds /v1)
  GATEWAY_KEY   a gateway key
  UPSTREAM      anthropic | openai | gemini: the format the mock behind it speaks
Exits non-zero on the first failed check."""

import os

import anthropic

BASE = os.environ["GATEWAY_URL"]
KEY = os.environ["GATEWAY_KEY"]
UPSTREAM = os.environ["UPSTREAM"]
MODEL = "claude-x"
HI = [{"role": "user", "content": "hi"}]
WEATHER = {
    "name": "get_weather",
    "description": "Current weather at a place.",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}
# A 1x1 PNG.
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

print(f"anthropic-python {anthropic.__version__} against {BASE} (upstream: {UPSTREAM})")

# `x-api-key`, as with ANTHROPIC_API_KEY; no retries, so faults show at once.
client = anthropic.Anthropic(api_key=KEY, base_url=BASE, max_retries=0, timeout=20)

# Plain create: a typed Message.
message = client.messages.create(model=MODEL, max_tokens=100, system="Be brief.", messages=HI)
assert isinstance(message, anthropic.types.Message), type(message)
assert message.role == "assistant" and message.id, message
assert message.content[0].type == "text" and message.content[0].text, message
assert message.stop_reason == "end_turn", message
assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0, message.usage

# A bearer token, as with ANTHROPIC_AUTH_TOKEN (what Claude Code sends).
bearer = anthropic.Anthropic(api_key=None, auth_token=KEY, base_url=BASE, max_retries=0, timeout=20)
assert bearer.messages.create(model=MODEL, max_tokens=50, messages=HI).stop_reason == "end_turn"

# messages.stream(): the text stream and the accumulated final message agree.
with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
assert text, "no text streamed"
assert [b.type for b in final.content] == ["text"], final.content
assert final.content[0].text == text, (final.content, text)
assert final.stop_reason == "end_turn", final
assert final.usage.output_tokens > 0, final.usage

# Every event is one the SDK knows, in Anthropic's order.
with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
    kinds = [event.type for event in stream]
assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
assert "content_block_start" in kinds and "message_delta" in kinds, kinds

# The tool round trip, the call first streamed and accumulated.
with client.messages.stream(model=MODEL, max_tokens=200, messages=HI, tools=[WEATHER],
                            tool_choice={"type": "auto"}) as stream:
    final = stream.get_final_message()
assert final.stop_reason == "tool_use", final
calls = [b for b in final.content if b.type == "tool_use"]
assert len(calls) == 1 and calls[0].name == "get_weather", final.content
assert isinstance(calls[0].input, dict) and calls[0].id, calls[0]
answer = client.messages.create(
    model=MODEL,
    max_tokens=100,
    tools=[WEATHER],
    messages=HI
    + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in final.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": calls[0].id, "content": "15 C"}]},
    ],
)
assert (answer.stop_reason, answer.content[0].type) == ("end_turn", "text"), answer
whole = client.messages.create(model=MODEL, max_tokens=200, messages=HI, tools=[WEATHER])
assert whole.stop_reason == "tool_use" and whole.content[-1].type == "tool_use", whole

# An image.
image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
seen = client.messages.create(model=MODEL, max_tokens=50,
                              messages=[{"role": "user", "content": [image, {"type": "text", "text": "What is it?"}]}])
assert seen.content[0].type == "text", seen

# count_tokens, answered by the gateway itself.
count = client.messages.count_tokens(model=MODEL, messages=HI)
assert isinstance(count, anthropic.types.MessageTokensCount) and count.input_tokens > 0, count
longer = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi " * 500}])
assert longer.input_tokens > count.input_tokens + 400, (count, longer)


def fails(error_class, call, kind):
    """`call` must raise exactly `error_class` with `kind` as its error type."""
    try:
        call()
    except anthropic.APIStatusError as error:
        assert type(error) is error_class, f"expected {error_class.__name__}, got {type(error).__name__}: {error}"
        assert error.body["type"] == "error" and error.body["error"]["type"] == kind, error.body
        return
    raise AssertionError(f"expected {error_class.__name__}, but the call succeeded")


wrong_key = anthropic.Anthropic(api_key="sk-not-a-gateway-key", base_url=BASE, max_retries=0)
fails(anthropic.AuthenticationError, lambda: wrong_key.messages.create(model=MODEL, max_tokens=10, messages=HI),
      "authentication_error")
fails(anthropic.BadRequestError, lambda: client.messages.create(model=MODEL, max_tokens=10, messages=HI,
                                                                extra_body={"temperature": 1.5}),
      "invalid_request_error")
fails(anthropic.BadRequestError, lambda: client.messages.create(model=MODEL, max_tokens=10, messages=[]),
      "invalid_request_error")
fails(anthropic.NotFoundError, lambda: client.messages.create(model="claude-nonexistent", max_tokens=10, messages=HI),
      "not_found_error")
fails(anthropic.RateLimitError, lambda: client.messages.create(model="claude-rate-limited", max_tokens=10, messages=HI),
      "rate_limit_error")
overloaded = (anthropic.OverloadedError, "overloaded_error") if UPSTREAM == "anthropic" \
    else (anthropic.ServiceUnavailableError, "api_error")
fails(overloaded[0], lambda: client.messages.create(model="claude-overloaded", max_tokens=10, messages=HI),
      overloaded[1])
fails(anthropic.InternalServerError, lambda: client.messages.create(model="claude-broken", max_tokens=10, messages=HI),
      "api_error")


def stream_all(model):
    with client.messages.stream(model=model, max_tokens=100, messages=HI) as stream:
        for _ in stream:
            pass


# Before the first byte a failing stream is a plain error...
fails(anthropic.RateLimitError, lambda: stream_all("claude-rate-limited"), "rate_limit_error")
# ...and one the provider breaks off after it began ends with an `error` event the SDK raises.
if UPSTREAM == "anthropic":
    try:
        stream_all("claude-cut")
        raise AssertionError("the error event was not raised")
    except anthropic.APIStatusError as error:
        assert error.body["type"] == "error", error.body

print(f"anthropic-python {anthropic.__version__}: every check passed against the {UPSTREAM} upstream")
