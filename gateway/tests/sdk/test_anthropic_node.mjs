// The official Anthropic Node SDK against the gateway's Messages API, with only
// baseURL and the key changed (what Claude Code does with ANTHROPIC_BASE_URL and
// ANTHROPIC_AUTH_TOKEN / ANTHROPIC_API_KEY), whichever format the provider behind
// the gateway speaks.
//
// Run with `node --test test_anthropic_node.mjs` by gateway/tests/anthropic_sdk.rs.
// Environment:
//   GATEWAY_URL  the gateway's root, e.g. http://127.0.0.1:PORT (the SDK adds /v1)
//   GATEWAY_KEY  a gateway key
//   UPSTREAM     anthropic | openai | gemini: the format the mock behind it speaks

import assert from 'node:assert/strict';
import { test } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import { VERSION } from '@anthropic-ai/sdk/version';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const BASE_URL = required('GATEWAY_URL');
const KEY = required('GATEWAY_KEY');
const UPSTREAM = required('UPSTREAM');
const MODEL = 'claude-x';
const HI = [{ role: 'user', content: 'hi' }];
const WEATHER = {
  name: 'get_weather',
  description: 'Current weather at a place.',
  input_schema: {
    type: 'object',
    properties: { location: { type: 'string' } },
    required: ['location'],
  },
};
// A 1x1 PNG.
const PIXEL =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

// `x-api-key` (ANTHROPIC_API_KEY); no retries, so faults show at once.
function client(apiKey = KEY) {
  return new Anthropic({ baseURL: BASE_URL, apiKey, maxRetries: 0, timeout: 20_000 });
}

/** Awaits `promise`, which must reject with exactly the SDK's `cls` and error `kind`. */
async function expectError(cls, kind, promise) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  assert.ok(error, `expected ${cls.name}, but the call succeeded`);
  assert.equal(error.constructor, cls, `expected ${cls.name}, got ${error.constructor?.name}: ${error}`);
  assert.equal(error.error?.type, 'error', JSON.stringify(error.error));
  assert.equal(error.error?.error?.type, kind, JSON.stringify(error.error));
  return error;
}

test(`anthropic-node ${VERSION} is the SDK under test`, () => {
  console.log(`anthropic-node ${VERSION} against ${BASE_URL} (upstream: ${UPSTREAM})`);
});

test('messages.create', async () => {
  const message = await client().messages.create({
    model: MODEL,
    max_tokens: 100,
    system: 'Be brief.',
    messages: HI,
  });
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.ok(message.id);
  assert.equal(message.content[0].type, 'text');
  assert.ok(message.content[0].text.length > 0);
  assert.equal(message.stop_reason, 'end_turn');
  assert.ok(message.usage.input_tokens > 0 && message.usage.output_tokens > 0);
});

test('a bearer token (ANTHROPIC_AUTH_TOKEN) works too', async () => {
  const bearer = new Anthropic({ baseURL: BASE_URL, apiKey: null, authToken: KEY, maxRetries: 0 });
  const message = await bearer.messages.create({ model: MODEL, max_tokens: 50, messages: HI });
  assert.equal(message.stop_reason, 'end_turn');
});

test('messages.stream() accumulates the final message', async () => {
  const stream = client().messages.stream({ model: MODEL, max_tokens: 100, messages: HI });
  let text = '';
  const kinds = [];
  stream.on('text', (delta) => {
    text += delta;
  });
  stream.on('streamEvent', (event) => kinds.push(event.type));
  const final = await stream.finalMessage();
  assert.ok(text.length > 0);
  assert.deepEqual(
    final.content.map((b) => b.type),
    ['text'],
  );
  assert.equal(final.content[0].text, text);
  assert.equal(final.stop_reason, 'end_turn');
  assert.ok(final.usage.output_tokens > 0);
  assert.equal(kinds[0], 'message_start');
  assert.equal(kinds.at(-1), 'message_stop');
});

test('a tool round trip, streamed then answered', async () => {
  const stream = client().messages.stream({
    model: MODEL,
    max_tokens: 200,
    messages: HI,
    tools: [WEATHER],
    tool_choice: { type: 'auto' },
  });
  const final = await stream.finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  const calls = final.content.filter((b) => b.type === 'tool_use');
  assert.equal(calls.length, 1);
  assert.equal(calls[0].name, 'get_weather');
  assert.equal(typeof calls[0].input, 'object');
  const answer = await client().messages.create({
    model: MODEL,
    max_tokens: 100,
    tools: [WEATHER],
    messages: [
      ...HI,
      { role: 'assistant', content: final.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: calls[0].id, content: '15 C' }] },
    ],
  });
  assert.equal(answer.stop_reason, 'end_turn');
  assert.equal(answer.content[0].type, 'text');
});

test('an image', async () => {
  const message = await client().messages.create({
    model: MODEL,
    max_tokens: 50,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PIXEL } },
          { type: 'text', text: 'What is it?' },
        ],
      },
    ],
  });
  assert.equal(message.content[0].type, 'text');
});

test('countTokens is answered by the gateway', async () => {
  const small = await client().messages.countTokens({ model: MODEL, messages: HI });
  assert.ok(small.input_tokens > 0);
  const large = await client().messages.countTokens({
    model: MODEL,
    messages: [{ role: 'user', content: 'hi '.repeat(500) }],
  });
  assert.ok(large.input_tokens > small.input_tokens + 400, `${small.input_tokens} ${large.input_tokens}`);
});

test('errors are the SDK classes for their statuses', async () => {
  const create = (model, extra = {}) =>
    client().messages.create({ model, max_tokens: 10, messages: HI, ...extra });
  await expectError(
    Anthropic.AuthenticationError,
    'authentication_error',
    client('sk-not-a-gateway-key').messages.create({ model: MODEL, max_tokens: 10, messages: HI }),
  );
  await expectError(Anthropic.BadRequestError, 'invalid_request_error', create(MODEL, { temperature: 1.5 }));
  await expectError(Anthropic.NotFoundError, 'not_found_error', create('claude-nonexistent'));
  await expectError(Anthropic.RateLimitError, 'rate_limit_error', create('claude-rate-limited'));
  if (UPSTREAM === 'anthropic') {
    await expectError(Anthropic.OverloadedError, 'overloaded_error', create('claude-overloaded'));
  } else {
    await expectError(Anthropic.ServiceUnavailableError, 'api_error', create('claude-overloaded'));
  }
  await expectError(Anthropic.InternalServerError, 'api_error', create('claude-broken'));
  await expectError(
    Anthropic.RateLimitError,
    'rate_limit_error',
    client().messages.stream({ model: 'claude-rate-limited', max_tokens: 10, messages: HI }).finalMessage(),
  );
});

// Only the Anthropic mock breaks a stream off with an error event.
if (UPSTREAM === 'anthropic') {
test('a stream broken off after it began raises the error event', async () => {
  let error;
  try {
    await client().messages.stream({ model: 'claude-cut', max_tokens: 100, messages: HI }).finalMessage();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Anthropic.APIError, `expected an APIError, got ${error}`);
  assert.equal(error.error?.type, 'error', JSON.stringify(error.error));
});
}
