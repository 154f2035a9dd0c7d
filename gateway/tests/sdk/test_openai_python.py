"""The official OpenAI Python SDK against the gateway, with only base_url and
api_key changed: the drop-in promise, checked the way a customer would use it.

Environment:
  GATEWAY_BASE_URL     e.g. http://127.0.0.1:PORT/v1
  GATEWAY_KEY          a gateway key that may use every model
  GATEWAY_LIMITED_KEY  a gateway key limited to `mock-chat`

The gateway runs in front of the project's mock provider (gateway/src/mock_provider),
so the expected texts and vectors below are the mock's. Exits non-zero on any
failure; the last line is "openai-python: N passed, M failed".
"""

import asyncio
import json
import os
import sys
import traceback

import openai
from openai import AsyncOpenAI, OpenAI

BASE_URL = os.environ["GATEWAY_BASE_URL"]
KEY = os.environ["GATEWAY_KEY"]
LIMITED_KEY = os.environ["GATEWAY_LIMITED_KEY"]

HELLO = "Hello from the mock provider, friend."
USER = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a place.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}


def client(key=KEY):
    # No retries: the fault models would otherwise be retried with backoff.
    return OpenAI(base_url=BASE_URL, api_key=key, max_retries=0, timeout=20)


def expect_error(cls, call):
    """Runs `call`, which must raise exactly the SDK's `cls`; returns the error."""
    try:
        call()
    except openai.APIError as error:
        assert type(error) is cls, f"expected {cls.__name__}, got {type(error).__name__}: {error}"
        return error
    raise AssertionError(f"expected {cls.__name__}, but the call succeeded")


# --- tests -------------------------------------------------------------------


def test_plain_chat():
    completion = client().chat.completions.create(model="mock-chat", messages=USER)
    assert completion.object == "chat.completion", completion
    assert completion.id, completion
    assert len(completion.choices) == 1, completion
    choice = completion.choices[0]
    assert choice.message.role == "assistant", choice
    assert choice.message.content == HELLO, choice.message.content
    assert choice.finish_reason == "stop", choice.finish_reason
    assert completion.usage is not None and completion.usage.completion_tokens == 8, completion.usage
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 8, completion.usage


def test_raw_response_carries_gateway_headers():
    raw = client().chat.completions.with_raw_response.create(model="mock-chat", messages=USER)
    assert raw.http_response.status_code == 200
    assert raw.headers.get("x-gateway-provider") == "mock", dict(raw.headers)
    assert raw.headers.get("x-request-id"), dict(raw.headers)
    assert raw.parse().choices[0].message.content == HELLO


def test_stream_without_usage():
    stream = client().chat.completions.create(model="mock-chat", messages=USER, stream=True)
    text = ""
    chunks = 0
    finish = None
    for chunk in stream:
        chunks += 1
        assert chunk.object == "chat.completion.chunk", chunk
        assert chunk.usage is None, f"usage in a stream that did not ask for it: {chunk}"
        assert len(chunk.choices) == 1, chunk
        text += chunk.choices[0].delta.content or ""
        finish = chunk.choices[0].finish_reason or finish
    assert text == HELLO, text
    assert finish == "stop", finish
    assert chunks >= 9, chunks


def test_stream_with_include_usage():
    stream = client().chat.completions.create(
        model="mock-chat",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == [], last
    assert last.usage is not None and last.usage.completion_tokens == 8, last.usage
    for chunk in chunks[:-1]:
        assert chunk.usage is None, chunk
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    assert text == HELLO, text


def test_stream_helper_accumulates():
    # The SDK's own streaming helper assembles the final completion from the chunks.
    with client().chat.completions.stream(model="mock-chat", messages=USER) as stream:
        deltas = "".join(e.delta for e in stream if e.type == "content.delta")
        final = stream.get_final_completion()
    assert deltas == HELLO, deltas
    assert final.choices[0].message.content == HELLO, final
    assert final.choices[0].finish_reason == "stop", final


def test_tool_call_round_trip():
    c = client()
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    stream = c.chat.completions.create(
        model="mock-chat",
        messages=messages,
        tools=[WEATHER_TOOL],
        tool_choice="auto",
        stream=True,
    )
    calls = {}
    finish = None
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for call in choice.delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
            if call.id:
                entry["id"] = call.id
            if call.function and call.function.name:
                entry["name"] += call.function.name
            if call.function and call.function.arguments:
                entry["arguments"] += call.function.arguments
    assert finish == "tool_calls", finish
    assert list(calls) == [0], calls
    call = calls[0]
    assert call["id"] and call["name"] == "get_weather", call
    arguments = json.loads(call["arguments"])
    assert arguments["location"] == "Paris, France", arguments

    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
            ],
        }
    )
    messages.append(
        {
            "role": "tool",
            "tool_call_id": call["id"],
            "content": json.dumps({"temperature": 18, "unit": "celsius"}),
        }
    )
    answer = c.chat.completions.create(model="mock-chat", messages=messages, tools=[WEATHER_TOOL])
    choice = answer.choices[0]
    assert choice.finish_reason == "stop", choice
    assert choice.message.content == HELLO, choice.message
    assert not choice.message.tool_calls, choice.message


def test_non_streamed_tool_call():
    completion = client().chat.completions.create(
        model="mock-chat",
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER_TOOL],
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather", call
    assert json.loads(call.function.arguments)["unit"] == "celsius", call


def test_models_list():
    ids = [m.id for m in client().models.list()]
    assert "mock-chat" in ids and "mock-embed" in ids, ids
    limited = [m.id for m in client(LIMITED_KEY).models.list()]
    assert limited == ["mock-chat"], limited


def test_models_retrieve():
    model = client().models.retrieve("mock-chat")
    assert model.id == "mock-chat", model
    assert model.object == "model", model
    assert isinstance(model.created, int) and model.owned_by, model
    expect_error(openai.NotFoundError, lambda: client().models.retrieve("no-such-model"))


def test_embeddings_default_base64():
    # The SDK asks for base64 unless told otherwise and decodes it to floats.
    c = client()
    response = c.embeddings.create(model="mock-embed", input=["first text", "second text"])
    assert response.object == "list", response
    assert [d.index for d in response.data] == [0, 1], response.data
    for item in response.data:
        assert len(item.embedding) == 8, item.embedding
        assert all(isinstance(x, float) and -1.0 <= x <= 1.0 for x in item.embedding), item
    assert response.usage.prompt_tokens > 0, response.usage
    floats = c.embeddings.create(model="mock-embed", input=["first text", "second text"], encoding_format="float")
    for decoded, plain in zip(response.data, floats.data):
        assert all(abs(a - b) < 1e-6 for a, b in zip(decoded.embedding, plain.embedding)), (decoded, plain)


def test_authentication_error():
    error = expect_error(
        openai.AuthenticationError,
        lambda: client("sk-not-a-gateway-key").chat.completions.create(model="mock-chat", messages=USER),
    )
    assert error.status_code == 401, error
    assert error.code == "invalid_api_key", error.body


def test_not_found_errors():
    error = expect_error(
        openai.NotFoundError,
        lambda: client().chat.completions.create(model="no-such-model", messages=USER),
    )
    assert error.status_code == 404 and error.code == "model_not_found", error.body
    # A model the key may not use looks exactly like one that does not exist.
    error = expect_error(
        openai.NotFoundError,
        lambda: client(LIMITED_KEY).chat.completions.create(model="mock-embed", messages=USER),
    )
    assert error.code == "model_not_found", error.body


def test_bad_request_errors():
    c = client()
    # The SDK insists on `messages` client-side; an empty list is its to send.
    error = expect_error(
        openai.BadRequestError,
        lambda: c.chat.completions.create(model="mock-chat", messages=[]),
    )
    assert error.status_code == 400 and error.param == "messages", error.body
    # Missing entirely, through the SDK's own low-level request method.
    error = expect_error(
        openai.BadRequestError,
        lambda: c.post("/chat/completions", body={"model": "mock-chat"}, cast_to=openai.types.chat.ChatCompletion),
    )
    assert "messages" in error.message, error.message
    # Wrong type through extra_body.
    expect_error(
        openai.BadRequestError,
        lambda: c.chat.completions.create(model="mock-chat", messages=USER, extra_body={"stream": "yes"}),
    )
    # A chat model on the embeddings endpoint.
    expect_error(
        openai.BadRequestError,
        lambda: c.embeddings.create(model="mock-chat", input="x"),
    )


def test_upstream_429_and_500():
    c = client()
    error = expect_error(
        openai.RateLimitError,
        lambda: c.chat.completions.create(model="fail-429", messages=USER),
    )
    assert error.status_code == 429, error
    error = expect_error(
        openai.InternalServerError,
        lambda: c.chat.completions.create(model="fail-500", messages=USER),
    )
    assert error.status_code == 500 and error.message.endswith("Simulated provider failure."), error.message
    # Streaming requests fail the same way, before any chunk.
    expect_error(
        openai.InternalServerError,
        lambda: c.chat.completions.create(model="fail-500", messages=USER, stream=True),
    )


def test_upstream_429_keeps_retry_after():
    # The mock sends `Retry-After: 1` with its 429; the SDKs wait that long
    # before a retry, so a relayed 429 should keep it.
    error = expect_error(
        openai.RateLimitError,
        lambda: client().chat.completions.create(model="fail-429", messages=USER),
    )
    assert error.response.headers.get("retry-after") == "1", dict(error.response.headers)


def test_cut_stream_raises():
    stream = client().chat.completions.create(model="cut-stream", messages=USER, stream=True)
    text = ""
    try:
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    except openai.APIError as error:
        assert "Hello from the".startswith(text) and text, text
        print(f"    cut-stream raised {type(error).__name__}: {error}")
        return
    raise AssertionError(f"a cut stream ended silently after {text!r}")


def test_async_client_streams():
    async def run():
        async with AsyncOpenAI(base_url=BASE_URL, api_key=KEY, max_retries=0, timeout=20) as c:
            stream = await c.chat.completions.create(model="mock-chat", messages=USER, stream=True)
            text = ""
            async for chunk in stream:
                text += chunk.choices[0].delta.content or ""
            assert text == HELLO, text
            models = [m.id async for m in c.models.list()]
            assert "mock-chat" in models, models

    asyncio.run(run())


# --- runner ------------------------------------------------------------------


def main():
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_") and callable(fn)]
    print(f"openai-python {openai.__version__} against {BASE_URL}")
    failed = []
    for name, fn in tests:
        try:
            fn()
        except Exception:  # noqa: BLE001 - every failure is reported, then counted
            failed.append(name)
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        else:
            print(f"ok   {name}")
    passed = len(tests) - len(failed)
    if failed:
        print(f"failed: {', '.join(failed)}")
    print(f"openai-python: {passed} passed, {len(failed)} failed")
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
