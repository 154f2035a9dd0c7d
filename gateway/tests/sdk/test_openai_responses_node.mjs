// The official OpenAI Node SDK's Responses API (`responses.create`,
// `responses.stream`) against the gateway, with only baseURL and apiKey changed.
//
// Run with `node --test test_openai_responses_node.mjs` by
// gateway/tests/responses_sdk.rs. Environment:
//   GATEWAY_BASE_URL  e.g. http://127.0.0.1:PORT/v1
//   GATEWAY_KEY       a gateway key
//   UPSTREAM          the format the mock behind the gateway speaks (openai,
//                     anthropic, gemini): answers are the mock's, so only their
//                     shape is checked
//   MODEL             the model to ask; `claude-rate-limited` and
//                     `claude-overloaded` make the mock fail

import assert from 'node:assert/strict';
import { test } from 'node:test';

import OpenAI from 'openai';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const BASE_URL = required('GATEWAY_BASE_URL');
const KEY = required('GATEWAY_KEY');
const MODEL = required('MODEL');

const WEATHER = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather for a place.',
  parameters: {
    type: 'object',
    properties: { location: { type: 'string' } },
    required: ['location'],
  },
  strict: false,
};

// No retries: the fault models would otherwise be retried with backoff.
function client(apiKey = KEY) {
  return new OpenAI({ baseURL: BASE_URL, apiKey, maxRetries: 0, timeout: 20_000 });
}

/** Awaits `promise`, which must reject with exactly the SDK's `cls`; returns the error. */
async function expectError(cls, promise) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected ${cls.name}, but the call succeeded`);
  assert.equal(error.constructor, cls, `expected ${cls.name}, got ${error.constructor?.name}: ${error}`);
  return error;
}

function checkUsage(response) {
  const usage = response.usage;
  assert.ok(usage, JSON.stringify(response));
  assert.ok(usage.input_tokens > 0 && usage.output_tokens > 0, JSON.stringify(usage));
  assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
}

test('string input with instructions', async () => {
  const response = await client().responses.create({
    model: MODEL,
    input: 'hello there',
    instructions: 'Be brief.',
    max_output_tokens: 300,
  });
  assert.equal(response.object, 'response');
  assert.equal(response.status, 'completed');
  assert.equal(response.instructions, 'Be brief.');
  assert.ok(response.output_text.length > 0, JSON.stringify(response));
  assert.equal(response.output[0].type, 'message');
  checkUsage(response);
});

test('items input', async () => {
  const response = await client().responses.create({
    model: MODEL,
    max_output_tokens: 300,
    input: [
      { role: 'developer', content: 'Be brief.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello there' }] },
    ],
  });
  assert.equal(response.status, 'completed');
  assert.ok(response.output_text.length > 0);
});

test('function tool round trip', async () => {
  const c = client();
  const asked = await c.responses.create({
    model: MODEL,
    input: 'Weather in Paris?',
    tools: [WEATHER],
    max_output_tokens: 300,
  });
  const call = asked.output.find((item) => item.type === 'function_call');
  assert.ok(call, JSON.stringify(asked.output));
  assert.equal(call.name, 'get_weather');
  assert.ok('location' in JSON.parse(call.arguments), call.arguments);
  // Sent back as the SDK returned it (with its id and status), as agents do.
  const answered = await c.responses.create({
    model: MODEL,
    tools: [WEATHER],
    max_output_tokens: 300,
    input: [
      { role: 'user', content: 'Weather in Paris?' },
      call,
      { type: 'function_call_output', call_id: call.call_id, output: '15 C, sunny' },
    ],
  });
  assert.equal(answered.status, 'completed');
  assert.ok(answered.output_text.length > 0, JSON.stringify(answered.output));
});

test('stream events and final response', async () => {
  const stream = client().responses.stream({
    model: MODEL,
    input: 'hello there',
    instructions: 'Be brief.',
    max_output_tokens: 300,
  });
  const events = [];
  for await (const event of stream) events.push(event);
  const final = await stream.finalResponse();
  const kinds = events.map((e) => e.type);
  assert.equal(kinds[0], 'response.created', kinds.join());
  assert.equal(kinds.at(-1), 'response.completed', kinds.join());
  for (const expected of [
    'response.output_item.added',
    'response.output_text.delta',
    'response.output_text.done',
    'response.output_item.done',
  ]) {
    assert.ok(kinds.includes(expected), `${expected} in ${kinds.join()}`);
  }
  const numbers = events.map((e) => e.sequence_number);
  assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b));
  assert.equal(new Set(numbers).size, numbers.length);
  const streamed = events
    .filter((e) => e.type === 'response.output_text.delta')
    .map((e) => e.delta)
    .join('');
  assert.ok(streamed.length > 0);
  assert.equal(final.output_text, streamed);
  checkUsage(final);
});

test('stream function call', async () => {
  const stream = client().responses.stream({
    model: MODEL,
    input: 'Weather in Paris?',
    tools: [WEATHER],
    max_output_tokens: 300,
  });
  const done = [];
  for await (const event of stream) {
    if (event.type === 'response.function_call_arguments.done') done.push(event);
  }
  const final = await stream.finalResponse();
  assert.ok(done.length > 0, 'no function_call_arguments.done event');
  assert.ok('location' in JSON.parse(done[0].arguments), done[0].arguments);
  assert.ok(final.output.some((item) => item.type === 'function_call'));
});

test('errors are the SDK error classes', async () => {
  await expectError(
    OpenAI.AuthenticationError,
    client('sk-wrong').responses.create({ model: MODEL, input: 'hi' }),
  );
  await expectError(
    OpenAI.NotFoundError,
    client().responses.create({ model: 'no-such-model', input: 'hi' }),
  );
  const stateful = await expectError(
    OpenAI.BadRequestError,
    client().responses.create({ model: MODEL, input: 'more', previous_response_id: 'resp_elsewhere' }),
  );
  assert.equal(stateful.code, 'unsupported_stateful_request');
  assert.equal(stateful.param, 'previous_response_id');
  const range = await expectError(
    OpenAI.BadRequestError,
    client().responses.create({ model: MODEL, input: 'hi', temperature: 7 }),
  );
  assert.equal(range.param, 'temperature');
  await expectError(
    OpenAI.RateLimitError,
    client().responses.create({ model: 'claude-rate-limited', input: 'hi' }),
  );
  await expectError(
    OpenAI.InternalServerError,
    client().responses.create({ model: 'claude-overloaded', input: 'hi' }),
  );
  await expectError(OpenAI.NotFoundError, client().responses.retrieve('resp_123'));
});
