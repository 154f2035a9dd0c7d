"""The official OpenAI Python SDK and OpenAI's OpenAPI spec, pointed at the
project's mock provider, judge its Responses API (`POST /v1/responses`) and legacy
completions (`POST /v1/completions`): the SDK must accept every answer and stream,
and every raw answer, stream event and recorded-shape fixture under
tests/fixtures/openai-responses/ must validate against the spec's schemas. Run by
gateway/tests/mock_sdk.rs with MOCK_BASE_URL set; exits non-zero on the first
failed check."""

import json
import os
import urllib.request
from pathlib import Path

import openai
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE = os.environ["MOCK_BASE_URL"]
HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "openai-responses"
SPECS = [HERE.parents[2].parent / "shared" / "openai-openapi" / "openapi.yaml", Path("/work/shared/openai-openapi/openapi.yaml")]
SPEC = Path(os.environ.get("OPENAI_OPENAPI_SPEC") or next((p for p in SPECS if p.is_file()), SPECS[-1]))
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather at a place.",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"], "additionalProperties": False},
    "strict": True,
}


def openapi_to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema (the spec still uses it), and a
    `oneOf` that has a `discriminator` as `anyOf`: OpenAPI picks the variant by the
    discriminator, while JSON Schema's `oneOf` fails whenever two variants match
    (an input item `{"type": "message", "role": "user", ...}` is both an
    `EasyInputMessage` and an `Item`)."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: openapi_to_json_schema(value) for key, value in node.items()}
    if "discriminator" in converted and "oneOf" in converted:
        converted["anyOf"] = converted.pop("oneOf")
    if converted.pop("nullable", None) is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


with open(SPEC, "rb") as file:
    spec = yaml.load(file, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
spec["components"]["schemas"] = openapi_to_json_schema(spec["components"]["schemas"])
# The spec's own streaming example sends `"usage": null` and `"user": null` in a
# response still in progress, where its `Response` schema says object and string.
def allow_null(schema_name, field):
    schemas = spec["components"]["schemas"]
    for part in schemas[schema_name].get("allOf", [schemas[schema_name]]):
        if "$ref" in part:
            allow_null(part["$ref"].rsplit("/", 1)[-1], field)
        elif field in part.get("properties", {}):
            part["properties"][field] = {"anyOf": [part["properties"][field], {"type": "null"}]}


for field in ["usage", "user"]:
    allow_null("Response", field)
# Legacy completion streams use the same schema, with `finish_reason: null` in
# every chunk but the last (as chat completion chunks do, where the spec says so).
_choice = spec["components"]["schemas"]["CreateCompletionResponse"]["properties"]["choices"]["items"]["properties"]
_choice["finish_reason"] = {"anyOf": [_choice["finish_reason"], {"type": "null"}]}
registry = Registry().with_resource("urn:spec", Resource(contents=spec, specification=DRAFT202012))


def validate(schema, value, what):
    validator = Draft202012Validator({"$ref": f"urn:spec#/components/schemas/{schema}"}, registry=registry)
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    assert not errors, f"{what} is not a {schema}: " + "; ".join(f"{e.message[:200]} at {list(e.path)}" for e in errors)


def post(path, body):
    request = urllib.request.Request(f"{BASE}/v1/{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return answer.read().decode()


def sse(text):
    return [json.loads(line[len("data: "):]) for line in text.splitlines() if line.startswith("data: ") and line != "data: [DONE]"]


# The fixtures are the spec's shapes.
for path in sorted(FIXTURES.glob("*.json")):
    name = path.name
    value = json.loads(path.read_text())
    schema = "CreateResponse" if name.startswith("request") else "ErrorResponse" if name.startswith("error") else "Response"
    validate(schema, value, name)
for path in sorted(FIXTURES.glob("*.sse")):
    for event in sse(path.read_text()):
        validate("ResponseStreamEvent", event, f"{path.name} {event['type']}")

# The mock's raw answers are the spec's shapes.
for body in [
    {"model": "gpt-mock", "input": "hi", "instructions": "Be brief."},
    {"model": "gpt-mock+thinking=20+cache_read=100", "input": "weather?", "tools": [WEATHER], "reasoning": {"effort": "low"}},
    {"model": "gpt-mock+words=40", "input": "hi", "max_output_tokens": 16},
]:
    validate("Response", json.loads(post("responses", body)), body["model"])
    for event in sse(post("responses", {**body, "stream": True})):
        validate("ResponseStreamEvent", event, f"{body['model']} {event['type']}")
validate("CreateCompletionResponse", json.loads(post("completions", {"model": "gpt-mock", "prompt": "def f():"})), "completion")
for chunk in sse(post("completions", {"model": "gpt-mock", "prompt": "x", "stream": True})):
    validate("CreateCompletionResponse", chunk, "completion chunk")

# The SDK accepts them.
client = openai.OpenAI(api_key="sk-mock", base_url=f"{BASE}/v1", max_retries=0)
response = client.responses.create(model="gpt-mock", input="hi", instructions="Be brief.")
assert response.output_text == "Hello from the mock provider, friend.", response
assert response.usage.output_tokens == 8

called = client.responses.create(model="gpt-mock", input="weather?", tools=[WEATHER])
call = called.output[0]
assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"location": "Paris, France", "unit": "celsius"}), called
answered = client.responses.create(
    model="gpt-mock",
    tools=[WEATHER],
    input=[{"role": "user", "content": "weather?"}, call.model_dump(exclude_none=True), {"type": "function_call_output", "call_id": call.call_id, "output": "15 C"}],
)
assert answered.output_text == "Hello from the mock provider, friend.", answered
assert client.responses.create(model="gpt-mock", input="more", previous_response_id=answered.id).status == "completed"

with client.responses.stream(model="gpt-mock+thinking=10", input="hi", reasoning={"effort": "low"}) as stream:
    kinds = [event.type for event in stream]
    final = stream.get_final_response()
assert kinds[0] == "response.created" and kinds[-1] == "response.completed", kinds
assert final.output_text == "Hello from the mock provider, friend." and final.usage.output_tokens_details.reasoning_tokens == 10

with client.responses.stream(model="gpt-mock", input="weather?", tools=[WEATHER]) as stream:
    done = [e for e in stream if e.type == "response.function_call_arguments.done"]
assert json.loads(done[0].arguments)["location"] == "Paris, France"

for kwargs, param in [
    ({"extra_body": {"messages": [{"role": "user", "content": "hi"}]}, "input": "hi"}, "messages"),
    ({"input": "hi", "previous_response_id": "resp_never"}, "previous_response_id"),
]:
    try:
        client.responses.create(model="gpt-mock", **kwargs)
        raise AssertionError(f"{kwargs} was accepted")
    except openai.BadRequestError as error:
        assert error.param == param, error
try:
    client.responses.create(model="gpt-mock+status=429", input="hi")
    raise AssertionError("429 was not raised")
except openai.RateLimitError:
    pass

completion = client.completions.create(model="gpt-mock", prompt="def add(a, b):", max_tokens=4)
assert (completion.choices[0].text, completion.choices[0].finish_reason) == ("Hello from the mock", "length"), completion
streamed = "".join(c.choices[0].text for c in client.completions.create(model="gpt-mock", prompt="x", stream=True) if c.choices)
assert streamed == "Hello from the mock provider, friend.", streamed

print("openai", openai.__version__, "and the OpenAPI spec accept every Responses and completions answer")
