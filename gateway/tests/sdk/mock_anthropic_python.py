"""The official Anthropic Python SDK, pointed at the project's mock provider, as
a judge of the mock's Anthropic wire format: every answer must parse into the
SDK's types, streams must accumulate with `messages.stream()`, and each HTTP error
must become the SDK's error class for it. Run by gateway/tests/mock_sdk.rs with
MOCK_BASE_URL set; exits non-zero on the first failed check."""

import json
import os
from pathlib import Path

import anthropic

BASE = os.environ["MOCK_BASE_URL"]
WEATHER = {
    "name": "get_weather",
    "description": "Current weather at a place.",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}
HI = [{"role": "user", "content": "hi"}]

client = anthropic.Anthropic(api_key="sk-ant-mock", base_url=BASE, max_retries=0)

# Plain create: a typed Message.
message = client.messages.create(model="claude-mock", max_tokens=100, system="Be brief.", messages=HI)
assert isinstance(message, anthropic.types.Message), type(message)
assert message.content[0].text == "Hello from the mock provider, friend.", message
assert (message.stop_reason, message.usage.output_tokens) == ("end_turn", 8), message
assert message.id.startswith("msg_")

# Stop sequence and max_tokens.
message = client.messages.create(model="claude-mock", max_tokens=100, stop_sequences=["provider"], messages=HI)
assert (message.stop_reason, message.stop_sequence, message.content[0].text) == ("stop_sequence", "provider", "Hello from the mock "), message
message = client.messages.create(model="claude-mock", max_tokens=3, messages=HI)
assert message.stop_reason == "max_tokens", message

# Streaming with thinking, text and a tool call, accumulated by the SDK.
with client.messages.stream(
    model="claude-mock+text_first=1+thinking=100+prompt_tokens=40+cache_read=300+cache_write=20",
    max_tokens=2000,
    messages=HI,
    tools=[WEATHER],
) as stream:
    kinds = [event.type for event in stream]
    final = stream.get_final_message()
assert kinds[0] == "message_start" and "message_stop" in kinds, kinds
assert [b.type for b in final.content] == ["thinking", "text", "tool_use"], final.content
tool_use = final.content[2]
assert tool_use.input == {"location": "Paris, France", "unit": "celsius"}, tool_use
assert final.stop_reason == "tool_use"
usage = final.usage
assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (40, 300, 20), usage
assert usage.output_tokens == 4 + 7 + 100 and usage.output_tokens_details.thinking_tokens == 100, usage

# The tool round trip: the answer's blocks sent back with a result.
answer = client.messages.create(
    model="claude-mock",
    max_tokens=100,
    tools=[WEATHER],
    messages=HI
    + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in final.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "15 C"}]},
    ],
)
assert (answer.stop_reason, answer.content[0].type) == ("end_turn", "text"), answer

# Text stream helper.
with client.messages.stream(model="claude-mock", max_tokens=100, messages=HI) as stream:
    assert "".join(stream.text_stream) == "Hello from the mock provider, friend."

# An image and a cached system prompt: written once, then read.
image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
cached_system = [{"type": "text", "text": "Long rules.", "cache_control": {"type": "ephemeral"}}]
first = client.messages.create(model="claude-mock", max_tokens=10, system=cached_system,
                               messages=[{"role": "user", "content": [image, {"type": "text", "text": "What is it?"}]}])
second = client.messages.create(model="claude-mock", max_tokens=10, system=cached_system, messages=HI)
assert first.usage.cache_creation_input_tokens > 0, first.usage
assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens, second.usage

# count_tokens.
count = client.messages.count_tokens(model="claude-mock+prompt_tokens=42", messages=HI)
assert count.input_tokens == 42, count

# Errors become the SDK's classes.
for model, error_class, kind in [
    ("claude-mock+status=529", anthropic.OverloadedError, "overloaded_error"),
    ("claude-mock+status=429", anthropic.RateLimitError, "rate_limit_error"),
    ("claude-mock+status=500", anthropic.InternalServerError, "api_error"),
]:
    try:
        client.messages.create(model=model, max_tokens=10, messages=HI)
        raise AssertionError(f"{model} did not fail")
    except error_class as error:
        assert error.body["error"]["type"] == kind, error.body
for messages, extra in [
    ([{"role": "system", "content": "x"}] + HI, {}),
    (HI, {"extra_body": {"temperature": 0.5}}),  # refused under 2026-10-21, the SDK's version
    (HI, {"extra_body": {"n": 2}}),
]:
    try:
        client.messages.create(model="claude-mock", max_tokens=10, messages=messages, **extra)
        raise AssertionError(f"{messages} {extra} was accepted")
    except anthropic.BadRequestError as error:
        assert error.body["error"]["type"] == "invalid_request_error", error.body

# A stream the API abandons with an error event raises it.
try:
    with client.messages.stream(model="claude-mock+stream_error=2", max_tokens=100, messages=HI) as stream:
        for _ in stream:
            pass
    raise AssertionError("the error event was not raised")
except anthropic.APIStatusError as error:
    assert "overloaded_error" in str(error), error

# The classic API version still takes sampling parameters.
classic = anthropic.Anthropic(api_key="sk-ant-mock", base_url=BASE, max_retries=0,
                              default_headers={"anthropic-version": "2023-06-01"})
assert classic.messages.create(model="c", max_tokens=10, messages=HI, extra_body={"temperature": 0.3}).stop_reason == "end_turn"

# The recorded-shape fixtures are the SDK's types too.
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic"
for path in sorted(FIXTURES.glob("response_*.json")):
    model = anthropic.types.MessageTokensCount if "count_tokens" in path.name else anthropic.types.Message
    model.model_validate(json.loads(path.read_text()))
for path in sorted(FIXTURES.glob("error_*.json")):
    anthropic.types.ErrorResponse.model_validate(json.loads(path.read_text()))

print("anthropic", anthropic.__version__, "accepts every mock answer")
