"""The official OpenAI Python SDK's Responses API (`responses.create`,
`responses.stream`) against the gateway, with only base_url and api_key changed.

Environment (set by gateway/tests/responses_sdk.rs):
  GATEWAY_BASE_URL  e.g. http://127.0.0.1:PORT/v1
  GATEWAY_KEY       a gateway key
  UPSTREAM          the format the mock behind the gateway speaks (openai,
                    anthropic, gemini): the answers' texts are the mock's, so
                    only their shape is checked here
  MODEL             the model to ask; `claude-rate-limited` and
                    `claude-overloaded` make the mock fail

Exits non-zero on any failure; the last line is "responses-python: N passed, M failed".
"""

import json
import os
import sys
import traceback

import openai
from openai import OpenAI

BASE_URL = os.environ["GATEWAY_BASE_URL"]
KEY = os.environ["GATEWAY_KEY"]
UPSTREAM = os.environ["UPSTREAM"]
MODEL = os.environ["MODEL"]

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a place.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
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


def check_usage(response):
    usage = response.usage
    assert usage is not None, response
    assert usage.input_tokens > 0 and usage.output_tokens > 0, usage
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens, usage


# --- tests -------------------------------------------------------------------


def test_string_input_with_instructions():
    response = client().responses.create(model=MODEL, input="hello there", instructions="Be brief.", max_output_tokens=300)
    assert response.object == "response", response
    assert response.status == "completed", response
    assert response.id, response
    assert response.instructions == "Be brief.", response.instructions
    assert response.output_text, response
    assert response.output[0].type == "message", response.output
    check_usage(response)


def test_items_input():
    response = client().responses.create(
        model=MODEL,
        max_output_tokens=300,
        input=[
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello there"}]},
        ],
    )
    assert response.status == "completed", response
    assert response.output_text, response


def test_function_tool_round_trip():
    c = client()
    asked = c.responses.create(model=MODEL, input="Weather in Paris?", tools=[WEATHER], max_output_tokens=300)
    calls = [item for item in asked.output if item.type == "function_call"]
    assert calls, asked.output
    call = calls[0]
    assert call.name == "get_weather", call
    assert "location" in json.loads(call.arguments), call.arguments
    # Sent back as the SDK returned it (with its id and status), as agents do.
    answered = c.responses.create(
        model=MODEL,
        tools=[WEATHER],
        max_output_tokens=300,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "15 C, sunny"},
        ],
    )
    assert answered.status == "completed", answered
    assert answered.output_text, answered.output


def test_stream_events_and_final_response():
    with client().responses.stream(model=MODEL, input="hello there", instructions="Be brief.", max_output_tokens=300) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created", kinds
    assert kinds[-1] == "response.completed", kinds
    for expected in ["response.output_item.added", "response.output_text.delta", "response.output_text.done", "response.output_item.done"]:
        assert expected in kinds, (expected, kinds)
    numbers = [event.sequence_number for event in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), numbers
    streamed = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert streamed and final.output_text == streamed, (streamed, final.output_text)
    check_usage(final)


def test_stream_function_call():
    with client().responses.stream(model=MODEL, input="Weather in Paris?", tools=[WEATHER], max_output_tokens=300) as stream:
        done = [event for event in stream if event.type == "response.function_call_arguments.done"]
        final = stream.get_final_response()
    assert done, "no function_call_arguments.done event"
    assert "location" in json.loads(done[0].arguments), done[0].arguments
    assert any(item.type == "function_call" for item in final.output), final.output


def test_error_classes():
    expect_error(openai.AuthenticationError, lambda: client("sk-wrong").responses.create(model=MODEL, input="hi"))
    expect_error(openai.NotFoundError, lambda: client().responses.create(model="no-such-model", input="hi"))
    error = expect_error(
        openai.BadRequestError,
        lambda: client().responses.create(model=MODEL, input="more", previous_response_id="resp_elsewhere"),
    )
    assert error.code == "unsupported_stateful_request" and error.param == "previous_response_id", error.body
    error = expect_error(openai.BadRequestError, lambda: client().responses.create(model=MODEL, input="hi", temperature=7))
    assert error.param == "temperature", error.body
    expect_error(openai.RateLimitError, lambda: client().responses.create(model="claude-rate-limited", input="hi"))
    expect_error(openai.InternalServerError, lambda: client().responses.create(model="claude-overloaded", input="hi"))
    expect_error(openai.NotFoundError, lambda: client().responses.retrieve("resp_123"))


def main():
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_") and callable(fn)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"ok   {name}")
        except Exception:  # noqa: BLE001 - every failure is reported
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    print(f"openai {openai.__version__} ({UPSTREAM} upstream)")
    print(f"responses-python: {len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
