// The official OpenAI Node SDK against the gateway, with only baseURL and apiKey
// changed: the drop-in promise, checked the way a customer would use it.
//
// Run with `node --test test_openai_node.mjs`. Environment:
//   GATEWAY_BASE_URL     e.g. http://127.0.0.1:PORT/v1
//   GATEWAY_KEY          a gateway key that may use every model
//   GATEWAY_LIMITED_KEY  a gateway key limited to `mock-chat`
//
// The gateway runs in front of the project's mock provider
// (gateway/src/mock_provider), so the expected texts and vectors are the mock's.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import OpenAI from 'openai';
import { VERSION } from 'openai/version';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const BASE_URL = required('GATEWAY_BASE_URL');
const KEY = required('GATEWAY_KEY');
const LIMITED_KEY = required('GATEWAY_LIMITED_KEY');

const HELLO = 'Hello from the mock provider, friend.';
const USER = [{ role: 'user', content: 'Say hello' }];
const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a place.',
    parameters: {
      type: 'object',
      properties: {
        location: { type: 'string' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      },
      required: ['location'],
    },
  },
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

test(`openai-node ${VERSION} is the SDK under test`, () => {
  console.log(`openai-node ${VERSION} against ${BASE_URL}`);
});

test('plain chat', async () => {
  const completion = await client().chat.completions.create({ model: 'mock-chat', messages: USER });
  assert.equal(completion.object, 'chat.completion');
  assert.ok(completion.id);
  assert.equal(completion.choices.length, 1);
  const [choice] = completion.choices;
  assert.equal(choice.message.role, 'assistant');
  assert.equal(choice.message.content, HELLO);
  assert.equal(choice.finish_reason, 'stop');
  assert.equal(completion.usage.completion_tokens, 8);
  assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + 8);
});

test('withResponse exposes the gateway headers', async () => {
  const { data, response } = await client()
    .chat.completions.create({ model: 'mock-chat', messages: USER })
    .withResponse();
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('x-gateway-provider'), 'mock');
  assert.ok(response.headers.get('x-request-id'));
  assert.equal(data.choices[0].message.content, HELLO);
});

test('streaming without include_usage', async () => {
  const stream = await client().chat.completions.create({ model: 'mock-chat', messages: USER, stream: true });
  let text = '';
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.ok(chunk.usage === undefined || chunk.usage === null, `usage not asked for: ${JSON.stringify(chunk)}`);
    assert.equal(chunk.choices.length, 1);
    text += chunk.choices[0].delta.content ?? '';
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(text, HELLO);
  assert.equal(finish, 'stop');
  assert.ok(chunks >= 9, `${chunks} chunks`);
});

test('streaming with include_usage', async () => {
  const stream = await client().chat.completions.create({
    model: 'mock-chat',
    messages: USER,
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 8);
  for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.usage, null);
  assert.equal(chunks.slice(0, -1).map((c) => c.choices[0].delta.content ?? '').join(''), HELLO);
});

test('the SDK stream helper accumulates a final completion', async () => {
  const stream = client().chat.completions.stream({ model: 'mock-chat', messages: USER });
  let deltas = '';
  stream.on('content', (delta) => {
    deltas += delta;
  });
  const final = await stream.finalChatCompletion();
  assert.equal(deltas, HELLO);
  assert.equal(final.choices[0].message.content, HELLO);
  assert.equal(final.choices[0].finish_reason, 'stop');
});

test('tool call round trip', async () => {
  const c = client();
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const stream = await c.chat.completions.create({
    model: 'mock-chat',
    messages,
    tools: [WEATHER_TOOL],
    tool_choice: 'auto',
    stream: true,
  });
  const calls = new Map();
  let finish = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    finish = choice.finish_reason ?? finish;
    for (const call of choice.delta.tool_calls ?? []) {
      const entry = calls.get(call.index) ?? { id: null, name: '', arguments: '' };
      if (call.id) entry.id = call.id;
      entry.name += call.function?.name ?? '';
      entry.arguments += call.function?.arguments ?? '';
      calls.set(call.index, entry);
    }
  }
  assert.equal(finish, 'tool_calls');
  assert.deepEqual([...calls.keys()], [0]);
  const call = calls.get(0);
  assert.ok(call.id);
  assert.equal(call.name, 'get_weather');
  assert.equal(JSON.parse(call.arguments).location, 'Paris, France');

  messages.push({
    role: 'assistant',
    content: null,
    tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }],
  });
  messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ temperature: 18 }) });
  const answer = await c.chat.completions.create({ model: 'mock-chat', messages, tools: [WEATHER_TOOL] });
  const [choice] = answer.choices;
  assert.equal(choice.finish_reason, 'stop');
  assert.equal(choice.message.content, HELLO);
  assert.ok(!choice.message.tool_calls?.length);
});

test('non-streamed tool call', async () => {
  const completion = await client().chat.completions.create({
    model: 'mock-chat',
    messages: [{ role: 'user', content: 'Weather?' }],
    tools: [WEATHER_TOOL],
  });
  const [choice] = completion.choices;
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.tool_calls.length, 1);
  const [call] = choice.message.tool_calls;
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.equal(JSON.parse(call.function.arguments).unit, 'celsius');
});

test('models.list', async () => {
  const ids = [];
  for await (const model of client().models.list()) ids.push(model.id);
  assert.ok(ids.includes('mock-chat') && ids.includes('mock-embed'), ids.join(','));
  const limited = [];
  for await (const model of client(LIMITED_KEY).models.list()) limited.push(model.id);
  assert.deepEqual(limited, ['mock-chat']);
});

test('models.retrieve', async () => {
  const model = await client().models.retrieve('mock-chat');
  assert.equal(model.id, 'mock-chat');
  assert.equal(model.object, 'model');
  assert.equal(typeof model.created, 'number');
  assert.ok(model.owned_by);
  await expectError(OpenAI.NotFoundError, client().models.retrieve('no-such-model'));
});

test('embeddings with the default (base64) encoding', async () => {
  const c = client();
  const input = ['first text', 'second text'];
  const response = await c.embeddings.create({ model: 'mock-embed', input });
  assert.equal(response.object, 'list');
  assert.deepEqual(
    response.data.map((d) => d.index),
    [0, 1],
  );
  for (const item of response.data) {
    assert.equal(item.embedding.length, 8);
    assert.ok(item.embedding.every((x) => typeof x === 'number' && x >= -1 && x <= 1), `${item.embedding}`);
  }
  assert.ok(response.usage.prompt_tokens > 0);
  const floats = await c.embeddings.create({ model: 'mock-embed', input, encoding_format: 'float' });
  response.data.forEach((decoded, i) => {
    decoded.embedding.forEach((x, j) => {
      assert.ok(Math.abs(x - floats.data[i].embedding[j]) < 1e-6, `${i}/${j}: ${x} vs ${floats.data[i].embedding[j]}`);
    });
  });
});

test('AuthenticationError for a bad key', async () => {
  const error = await expectError(
    OpenAI.AuthenticationError,
    client('sk-not-a-gateway-key').chat.completions.create({ model: 'mock-chat', messages: USER }),
  );
  assert.equal(error.status, 401);
  assert.equal(error.code, 'invalid_api_key');
});

test('NotFoundError for an unknown or forbidden model', async () => {
  let error = await expectError(
    OpenAI.NotFoundError,
    client().chat.completions.create({ model: 'no-such-model', messages: USER }),
  );
  assert.equal(error.status, 404);
  assert.equal(error.code, 'model_not_found');
  error = await expectError(
    OpenAI.NotFoundError,
    client(LIMITED_KEY).chat.completions.create({ model: 'mock-embed', messages: USER }),
  );
  assert.equal(error.code, 'model_not_found');
});

test('BadRequestError for malformed requests', async () => {
  const c = client();
  // The Node SDK does not check bodies client-side: `messages` really is missing.
  let error = await expectError(OpenAI.BadRequestError, c.chat.completions.create({ model: 'mock-chat' }));
  assert.equal(error.status, 400);
  assert.equal(error.param, 'messages');
  error = await expectError(OpenAI.BadRequestError, c.chat.completions.create({ model: 'mock-chat', messages: [] }));
  assert.equal(error.param, 'messages');
  await expectError(
    OpenAI.BadRequestError,
    c.chat.completions.create({ model: 'mock-chat', messages: USER, stream: 'yes' }),
  );
  await expectError(OpenAI.BadRequestError, c.embeddings.create({ model: 'mock-chat', input: 'x' }));
});

test('RateLimitError and InternalServerError from upstream 429 and 500', async () => {
  const c = client();
  let error = await expectError(
    OpenAI.RateLimitError,
    c.chat.completions.create({ model: 'fail-429', messages: USER }),
  );
  assert.equal(error.status, 429);
  error = await expectError(
    OpenAI.InternalServerError,
    c.chat.completions.create({ model: 'fail-500', messages: USER }),
  );
  assert.equal(error.status, 500);
  assert.match(error.message, /Simulated provider failure\./);
  await expectError(
    OpenAI.InternalServerError,
    c.chat.completions.create({ model: 'fail-500', messages: USER, stream: true }),
  );
});

// The mock sends `Retry-After: 1` with its 429; the SDKs wait that long before a
// retry, so a relayed 429 must keep it.
test(
  'a relayed upstream 429 keeps Retry-After',
  async () => {
    const error = await expectError(
      OpenAI.RateLimitError,
      client().chat.completions.create({ model: 'fail-429', messages: USER }),
    );
    assert.equal(error.headers.get('retry-after'), '1');
  },
);

test('a stream cut midway throws instead of ending silently', async () => {
  const stream = await client().chat.completions.create({ model: 'cut-stream', messages: USER, stream: true });
  let text = '';
  let error;
  try {
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  } catch (e) {
    error = e;
  }
  assert.ok(error, `a cut stream ended silently after ${JSON.stringify(text)}`);
  assert.ok(error instanceof OpenAI.APIError, `not an SDK error: ${error}`);
  assert.ok(text && 'Hello from the'.startsWith(text), text);
  console.log(`cut-stream threw ${error.constructor.name}: ${error.message}`);
});
