// The Responses API in `sluice serve`, on a scripted chat backend (deterministic): OpenAI's
// SSE framing (`event:` + `data:`, sequence numbers, no [DONE]), incremental streaming, the
// official openai SDK (stream, create, previous_response_id, retrieve, resume), tool calls,
// limits, errors in each dialect, and the relay of an upstream's Responses events.
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { createScriptedBackend, type ScriptStep, textScript } from '../../src/backends/index.js';
import { createRemoteBackend } from '../../src/backends/remote/index.js';
import { ServerError } from '../../src/errors.js';
import { createRouterBackend } from '../../src/gateway/router.js';
import { createTargetBackend } from '../../src/gateway/targets.js';
import type { ChatCompletionChunk } from '../../src/types.js';
import { frameReader, post, start } from '../support/server.js';

const TEXT = 'Once upon a time there was a fox';

/** `event: <type>` + `data: <json>` frames -> [type, parsed data]. */
function parseFrames(frames: string[]) {
  return frames.map((frame) => {
    const lines = frame.split('\n');
    assert.equal(lines.length, 2, `two lines per frame: ${frame}`);
    assert.ok(lines[0]!.startsWith('event: ') && lines[1]!.startsWith('data: '), frame);
    const data = JSON.parse(lines[1]!.slice(6)) as { type: string; sequence_number: number; [k: string]: unknown };
    assert.equal(lines[0]!.slice(7), data.type);
    return data;
  });
}

async function readAll(res: Response) {
  const reader = frameReader(res);
  const frames: string[] = [];
  for (let f = await reader.next(); f !== undefined; f = await reader.next()) frames.push(f);
  assert.equal(reader.rest(), '');
  return frames;
}

const toolChunk = (delta: object, finish: string | null = null): ScriptStep => ({
  chunk: {
    id: 'chatcmpl-t',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'scripted',
    choices: [{ index: 0, delta, finish_reason: finish }],
  } as ChatCompletionChunk,
});

describe('POST /v1/responses on a chat backend', () => {
  test('streams OpenAI-framed typed events with sequence numbers, incrementally, and no [DONE]', async (t) => {
    const backend = createScriptedBackend(textScript('chat', TEXT, { gated: true, promptTokens: 5 }));
    const { url } = await start(t, { backend });
    const res = await post(`${url}/v1/responses`, { model: 'story', input: 'Tell me a story', stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = frameReader(res);
    const early: string[] = [];
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) {
      early.push(f);
      if (f.startsWith('event: response.output_text.delta')) break;
    }
    // The first word is read while the backend waits at its gate for the rest.
    assert.equal(backend.waiting, 1);
    backend.open();
    const rest: string[] = [];
    for (let f = await reader.next(); f !== undefined; f = await reader.next()) rest.push(f);
    const events = parseFrames([...early, ...rest]);
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    assert.equal(events[0]?.type, 'response.created');
    assert.equal(events[1]?.type, 'response.in_progress');
    assert.equal(events.at(-1)?.type, 'response.completed');
    assert.ok(!rest.some((f) => f.includes('[DONE]')));
    const text = events
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    assert.equal(text, TEXT);
    const completed = events.at(-1)!.response as { usage: { input_tokens: number; output_tokens: number } };
    assert.equal(completed.usage.input_tokens, 5);
    assert.equal(completed.usage.output_tokens, 8);
  });

  test('openai SDK: responses.stream, create, previous_response_id, retrieve', async (t) => {
    const backend = createScriptedBackend(textScript('chat', TEXT, { promptTokens: 5 }));
    const { url } = await start(t, { backend });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = client.responses.stream({ model: 'story', input: 'Tell me a story', instructions: 'Be brief' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const first = await stream.finalResponse();
    assert.equal(deltas.join(''), TEXT);
    assert.equal(first.output_text, TEXT);
    assert.equal(first.status, 'completed');
    assert.deepEqual(backend.requests[0]?.body.messages, [
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: 'Tell me a story' },
    ]);

    const second = await client.responses.create({ model: 'story', input: 'Again', previous_response_id: first.id });
    assert.equal(second.output_text, TEXT);
    assert.equal(second.previous_response_id, first.id);
    // The previous response's input and output come first; its instructions do not carry over.
    assert.deepEqual(backend.requests[1]?.body.messages, [
      { role: 'user', content: 'Tell me a story' },
      { role: 'assistant', content: TEXT },
      { role: 'user', content: 'Again' },
    ]);
    const retrieved = await client.responses.retrieve(second.id);
    assert.equal(retrieved.id, second.id);
    assert.equal(retrieved.output_text, TEXT);

    // Another credential's responses are as unknown as missing ones.
    const other = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'other', maxRetries: 0 });
    await assert.rejects(other.responses.retrieve(second.id), (e: { status?: number }) => e.status === 404);
    await assert.rejects(
      other.responses.create({ model: 'story', input: 'x', previous_response_id: second.id }),
      (e: { status?: number }) => e.status === 404,
    );
    const unstored = await client.responses.create({ model: 'story', input: 'x', store: false });
    await assert.rejects(client.responses.retrieve(unstored.id), (e: { status?: number }) => e.status === 404);
  });

  test('unknown ids are 404 in the dialect of the route; bad bodies are 400 naming the parameter', async (t) => {
    const backend = createScriptedBackend(textScript('chat', TEXT));
    const { url } = await start(t, { deployments: { story: backend } });
    const openai = await post(`${url}/v1/responses`, { model: 'story', input: 'x', previous_response_id: 'resp_nope' });
    assert.equal(openai.status, 404);
    const body = (await openai.json()) as { error: { code: string; param: string; message: string } };
    assert.equal(body.error.code, 'previous_response_not_found');
    assert.equal(body.error.param, 'previous_response_id');
    assert.match(body.error.message, /resp_nope/);
    const azure = await fetch(`${url}/openai/v1/responses/resp_nope`);
    assert.equal(azure.status, 404);
    assert.equal(((await azure.json()) as { error: { code: string } }).error.code, 'NotFound');
    const model = await post(`${url}/openai/v1/responses`, { model: 'other', input: 'x' });
    assert.equal(((await model.json()) as { error: { code: string } }).error.code, 'DeploymentNotFound');
    const tokens = await post(`${url}/v1/responses`, { model: 'story', input: 'x', max_output_tokens: 0 });
    assert.equal(tokens.status, 400);
    assert.equal(((await tokens.json()) as { error: { param: string } }).error.param, 'max_output_tokens');
    const tool = await post(`${url}/v1/responses`, { model: 'story', input: 'x', tools: [{ type: 'web_search' }] });
    assert.equal(((await tool.json()) as { error: { param: string } }).error.param, 'tools[0].type');
  });

  test('a body that is not JSON is 400 invalid_json, and the message says what to send', async (t) => {
    const backend = createScriptedBackend(textScript('chat', TEXT));
    const { url } = await start(t, { deployments: { story: backend } });
    const res = await post(`${url}/v1/responses`, '{"model": "story", "input": ');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'invalid_json');
    assert.match(body.error.message, /Send a JSON object/);
  });

  test('a length stop is response.incomplete with reason max_output_tokens', async (t) => {
    const backend = createScriptedBackend(textScript('chat', 'Once upon', { finishReason: 'length' }));
    const { url } = await start(t, { backend });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    const answer = await client.responses.create({ model: 'story', input: 'x', max_output_tokens: 2 });
    assert.equal(answer.status, 'incomplete');
    assert.deepEqual(answer.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(backend.requests[0]?.body.max_tokens, 2);
  });

  test('chat tool_calls deltas stream as function_call items (openai SDK events)', async (t) => {
    const backend = createScriptedBackend([
      toolChunk({ role: 'assistant', content: null }),
      toolChunk({
        tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }],
      }),
      toolChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      toolChunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
      toolChunk({}, 'tool_calls'),
    ]);
    const { url } = await start(t, { backend });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    const stream = client.responses.stream({
      model: 'story',
      input: 'Weather in Oslo?',
      tools: [{ type: 'function', name: 'weather', parameters: { type: 'object' }, strict: false }],
    });
    const deltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.deepEqual(deltas, ['{"city":', '"Oslo"}']);
    const call = final.output[0];
    assert.ok(call?.type === 'function_call');
    assert.deepEqual([call.name, call.call_id, JSON.parse(call.arguments)], ['weather', 'call_1', { city: 'Oslo' }]);
    assert.deepEqual(backend.requests[0]?.body.tools, [
      { type: 'function', function: { name: 'weather', parameters: { type: 'object' }, strict: false } },
    ]);
  });

  test('resume: GET ?stream=true&starting_after=N replays the events after N, then follows live to the end', async (t) => {
    const backend = createScriptedBackend(textScript('chat', TEXT, { gated: true }));
    const { url } = await start(t, { backend });
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 });
    // A background response: the generation goes on after its client leaves.
    const res = await post(
      `${url}/v1/responses`,
      { model: 'story', input: 'x', stream: true, background: true },
      { authorization: 'Bearer k' },
    );
    const reader = frameReader(res);
    const seen = parseFrames([(await reader.next())!, (await reader.next())!, (await reader.next())!]);
    const id = (seen[0]!.response as { id: string }).id;
    await reader.cancel();
    const resumed = await client.responses.retrieve(id, { stream: true, starting_after: 2 });
    const after: Array<{ type: string; sequence_number: number; delta?: string }> = [];
    let released = false;
    for await (const event of resumed) {
      after.push(event);
      // Live: the rest is generated only now.
      if (!released) {
        released = true;
        backend.open();
      }
    }
    assert.equal(after[0]?.sequence_number, 3);
    assert.deepEqual(
      after.map((e) => e.sequence_number),
      after.map((_, i) => i + 3),
    );
    assert.equal(after.at(-1)?.type, 'response.completed');
    assert.equal(
      after
        .filter((e) => e.type === 'response.output_text.delta')
        .map((e) => e.delta)
        .join(''),
      TEXT,
    );
    const done = await client.responses.retrieve(id);
    assert.equal(done.status, 'completed');
    assert.equal(done.output_text, TEXT);
    // Only the credential that made the response may stream it again.
    const other = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'other', maxRetries: 0 });
    await assert.rejects(other.responses.retrieve(id, { stream: true }), (e: { status?: number }) => e.status === 404);
  });
});

describe('POST /v1/responses through an upstream that speaks Responses', () => {
  test("relays the upstream's events as they came, and its non-streaming answer", async (t) => {
    const chat = createScriptedBackend(textScript('chat', TEXT, { promptTokens: 5 }));
    const upstream = await start(t, { backend: chat });
    const remote = createRemoteBackend({ baseURL: `${upstream.url}/v1`, apiKey: 'k', maxRetries: 0 });
    t.after(() => remote.close?.());
    const { url } = await start(t, { deployments: { story: remote } });
    const res = await post(`${url}/openai/v1/responses`, { model: 'story', input: 'x', stream: true });
    assert.equal(res.status, 200);
    const events = parseFrames(await readAll(res));
    // The upstream's own ids, numbering and shapes: the upstream built them, not this server.
    const upstreamId = (events[0]!.response as { id: string }).id;
    const auth = { headers: { authorization: 'Bearer k' } };
    const stored = (await (await fetch(`${upstream.url}/v1/responses/${upstreamId}`, auth)).json()) as {
      output: unknown;
    };
    assert.deepEqual((events.at(-1)!.response as { output: unknown }).output, stored.output);
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    assert.equal(chat.requests.length, 1);
    const whole = (await (await post(`${url}/v1/responses`, { model: 'story', input: 'x' })).json()) as {
      id: string;
      status: string;
    };
    assert.equal(whole.status, 'completed');
    assert.equal((await fetch(`${upstream.url}/v1/responses/${whole.id}`, auth)).status, 200);
  });

  test("the upstream's bytes: each event's JSON text is forwarded as it came (spacing, escapes)", async (t) => {
    const events = [
      '{"type": "response.created", "sequence_number": 0, "response": {"id": "resp_up", "object": "response", "created_at": 1, "status": "in_progress", "model": "m", "output": [], "error": null, "incomplete_details": null}}',
      '{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","status":"in_progress","content":[]}}',
      '{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"caf\\u00e9 \\u2603","x-extra":1.50}',
      '{"type":"response.completed","sequence_number":3,"response":{"id":"resp_up","object":"response","created_at":1,"status":"completed","model":"m","output":[],"error":null,"incomplete_details":null}}',
    ];
    const body = events.map((data) => `event: ${JSON.parse(data).type}\ndata: ${data}\n\n`).join('');
    const upstream = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(body);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    t.after(() => upstream.close());
    const port = (upstream.address() as AddressInfo).port;
    const remote = createRemoteBackend({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'k', maxRetries: 0 });
    t.after(() => remote.close?.());
    const { url } = await start(t, { deployments: { story: remote } });
    const res = await post(`${url}/v1/responses`, { model: 'story', input: 'x', stream: true });
    assert.equal(await res.text(), body);
  });

  test('through the gateway router: an upstream 500 before any event fails over to the next target, invisibly', async (t) => {
    const broken = createScriptedBackend([{ error: new ServerError('upstream broke', { status: 500 }) }]);
    const working = createScriptedBackend(textScript('chat', TEXT));
    const remotes = await Promise.all(
      [broken, working].map(async (backend) => {
        const upstream = await start(t, { backend });
        const remote = createRemoteBackend({ baseURL: `${upstream.url}/v1`, apiKey: 'k', maxRetries: 0 });
        t.after(() => remote.close?.());
        return Object.assign(remote, { url: upstream.url });
      }),
    );
    const router = createRouterBackend({
      model: 'story',
      targets: remotes.map((backend, i) => ({
        id: `story/${i}:openai:upstream${i}`,
        backend,
        priority: i + 1,
        weight: 1,
        timeouts: {},
      })),
    });
    const { url } = await start(t, { deployments: { story: router } });
    const res = await post(`${url}/v1/responses`, { model: 'story', input: 'x', stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-sluice-target'), 'story/1:openai:upstream1');
    const events = parseFrames(await readAll(res));
    assert.equal(events[0]?.type, 'response.created');
    assert.equal(events.at(-1)?.type, 'response.completed');
    assert.equal(broken.requests.length, 1);
    assert.equal(working.requests.length, 1);
    // Relayed: the response is the upstream's own (it keeps it), not one rebuilt from chat here.
    const id = (events[0]!.response as { id: string }).id;
    assert.equal(
      (await fetch(`${remotes[1]!.url}/v1/responses/${id}`, { headers: { authorization: 'Bearer k' } })).status,
      200,
    );
  });

  test("a gateway file's upstream target relays Responses with its own model name", async (t) => {
    const chat = createScriptedBackend(textScript('chat', TEXT));
    const upstream = await start(t, { backend: chat });
    const target = createTargetBackend(
      {
        kind: 'openai',
        baseURL: `${upstream.url}/v1`,
        model: 'up-model',
        apiKey: 'k',
        priority: 1,
        weight: 1,
        timeouts: {},
      },
      'story/0:openai:upstream',
    );
    t.after(() => target.close?.());
    const router = createRouterBackend({
      model: 'story',
      targets: [{ id: 'story/0:openai:upstream', backend: target, priority: 1, weight: 1, timeouts: {} }],
    });
    const { url } = await start(t, { deployments: { story: router } });
    const res = await post(`${url}/v1/responses`, { model: 'story', input: 'x', stream: true });
    const events = parseFrames(await readAll(res));
    const id = (events[0]!.response as { id: string }).id;
    // The upstream made (and keeps) the response, for its own model name.
    const kept = await fetch(`${upstream.url}/v1/responses/${id}`, { headers: { authorization: 'Bearer k' } });
    assert.equal(((await kept.json()) as { model: string }).model, 'up-model');
    assert.equal(chat.requests[0]?.deployment, 'up-model');
  });
});
