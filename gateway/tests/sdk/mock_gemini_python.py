"""The official Gemini Python SDK (google-genai), pointed at the project's mock
provider, as a judge of the mock's Gemini wire format: answers, streams, function
calling (automatic, through the SDK's own round trip), token counts, safety blocks
and errors must all come out as the SDK's types. Run by gateway/tests/mock_sdk.rs
with MOCK_BASE_URL set; exits non-zero on the first failed check."""

import json
import os
import urllib.request
import warnings
from pathlib import Path

from google import genai
from google.genai import errors, types

warnings.filterwarnings("ignore")
BASE = os.environ["MOCK_BASE_URL"]


def client(version):
    return genai.Client(api_key="AIza-mock", http_options=types.HttpOptions(base_url=BASE, api_version=version))


def get_weather(location: str) -> str:
    """Current weather at a place."""
    return "15 C"


for version in ["v1beta", "v1"]:
    versioned = client(version)
    answer = versioned.models.generate_content(
        model="gemini-mock",
        contents="hi",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50, temperature=0.2),
    )
    assert answer.text == "Hello from the mock provider, friend.", answer
    assert answer.candidates[0].finish_reason == types.FinishReason.STOP
    assert answer.usage_metadata.candidates_token_count == 8, answer.usage_metadata

gemini = client("v1beta")

# Usage with thoughts and cached tokens.
answer = gemini.models.generate_content(
    model="gemini-mock+thinking=40+cache_read=100+prompt_tokens=20",
    contents="hi",
    config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True)),
)
usage = answer.usage_metadata
assert (usage.prompt_token_count, usage.cached_content_token_count, usage.thoughts_token_count) == (120, 100, 40), usage
assert usage.total_token_count == 120 + 8 + 40, usage
assert answer.candidates[0].content.parts[0].thought is True

# Function calls, then the SDK's automatic round trip.
answer = gemini.models.generate_content(
    model="gemini-mock+tool_calls=2",
    contents="weather?",
    config=types.GenerateContentConfig(
        tools=[get_weather], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)
    ),
)
assert [(c.name, c.args) for c in answer.function_calls] == [("get_weather", {"location": "Paris, France", "unit": "celsius"})] * 2
answer = gemini.models.generate_content(model="gemini-mock", contents="weather?", config=types.GenerateContentConfig(tools=[get_weather]))
assert answer.text == "Hello from the mock provider, friend." and len(answer.automatic_function_calling_history) == 3

# Streaming.
chunks = list(gemini.models.generate_content_stream(model="gemini-mock", contents="hi"))
assert "".join(c.text or "" for c in chunks) == "Hello from the mock provider, friend."
assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP and chunks[-1].usage_metadata.candidates_token_count == 8

# Chat keeps the turns valid.
chat = gemini.chats.create(model="gemini-mock")
assert chat.send_message("hi").text and chat.send_message("again").text

# Structured output and images.
answer = gemini.models.generate_content(
    model="gemini-mock",
    contents=[types.Part.from_bytes(data=b"\x89PNG", mime_type="image/png"), "describe"],
    config=types.GenerateContentConfig(response_mime_type="application/json", response_schema={"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}),
)
assert answer.candidates[0].finish_reason == types.FinishReason.STOP

# countTokens.
assert gemini.models.count_tokens(model="gemini-mock+prompt_tokens=9", contents="hi").total_tokens == 9

# Safety blocks.
blocked = gemini.models.generate_content(model="gemini-mock+safety=prompt", contents="hi")
assert blocked.prompt_feedback.block_reason == types.BlockedReason.SAFETY and not blocked.candidates
stopped = gemini.models.generate_content(model="gemini-mock+safety=response", contents="hi")
assert stopped.candidates[0].finish_reason == types.FinishReason.SAFETY

# Errors.
for model, error_class, status in [
    ("gemini-mock+status=429", errors.ClientError, "RESOURCE_EXHAUSTED"),
    ("gemini-mock+status=503", errors.ServerError, "UNAVAILABLE"),
    ("gemini-mock+status=500", errors.ServerError, "INTERNAL"),
]:
    try:
        gemini.models.generate_content(model=model, contents="hi")
        raise AssertionError(f"{model} did not fail")
    except error_class as error:
        assert error.status == status, error
try:
    gemini.models.generate_content(model="gemini-mock", contents=[types.Content(role="assistant", parts=[types.Part(text="x")])])
    raise AssertionError("role assistant was accepted")
except errors.ClientError as error:
    assert error.code == 400 and "valid role" in error.message, error

# The SDK's models forbid unknown fields: the fixtures and the mock's raw answers
# must fit them exactly.
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
for path in sorted(FIXTURES.glob("response_*.json")):
    model = types.CountTokensResponse if "count_tokens" in path.name else types.GenerateContentResponse
    model.model_validate(json.loads(path.read_text()))
for path in sorted(FIXTURES.glob("stream_*.sse")):
    raw = path.read_bytes().decode()
    assert raw.count("\r\n\r\n") == raw.count("data: "), f"{path.name}: frames end with CRLF CRLF"
    for line in raw.split("\r\n"):
        if line.startswith("data: "):
            types.GenerateContentResponse.model_validate(json.loads(line[len("data: "):]))
for path in sorted(FIXTURES.glob("request_*.json")):
    body = json.loads(path.read_text())
    for content in body.get("contents", []):
        types.Content.model_validate(content)
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
    for key, model in [("toolConfig", types.ToolConfig), ("systemInstruction", types.Content), ("generationConfig", types.GenerationConfig)]:
        if key in body:
            model.model_validate(body[key])


def raw_post(path, body):
    request = urllib.request.Request(
        f"{BASE}/v1beta/models/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "x-goog-api-key": "AIza-mock"},
    )
    with urllib.request.urlopen(request) as answer:
        return answer.read().decode()


WEATHER = {"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}}}}]}
for model, body in [
    ("gemini-mock+thinking=5+cache_read=3", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"thinkingConfig": {"includeThoughts": True}}}),
    ("gemini-mock+tool_calls=2+text_first=1+thinking=4", {"contents": [{"role": "user", "parts": [{"text": "weather?"}]}], "tools": [WEATHER]}),
    ("gemini-mock+safety=prompt", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    ("gemini-mock+safety=response", {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
]:
    types.GenerateContentResponse.model_validate(json.loads(raw_post(f"{model}:generateContent", body)))
    for line in raw_post(f"{model}:streamGenerateContent?alt=sse", body).split("\r\n"):
        if line.startswith("data: "):
            types.GenerateContentResponse.model_validate(json.loads(line[len("data: "):]))
types.CountTokensResponse.model_validate(json.loads(raw_post("gemini-mock:countTokens", {"contents": [{"parts": [{"text": "hi"}]}]})))

print("google-genai accepts every mock answer")
