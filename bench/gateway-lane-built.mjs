/**
 * The gateway bench's lanes (`--lane`): Sluice's own parts for a relay, wired with none of the
 * layers around them. Measuring sticks, not gateways: they show what a stream costs when it
 * crosses only what a Sluice relay must run, so that a bench run tells how much of Sluice's cost
 * is the parts, how much the per-stream duties of a gateway, and how much the layers (the
 * client's stream, the server's generation, the router's attempt) that carry them
 * (docs/gateway.md, Rounds 11 to 13).
 *
 * `parts`: per request, the server's request validation (`parseRequest`) and one keep-alive
 * `node:http` request upstream, both heads held flat (`flattenHead`, as Sluice's); per chunk,
 * the SSE decoder, the event reader keeping the upstream's JSON text (`readStreamEvent`), the
 * shape check (`checkChunk`), the accumulator (the partial and the end state), the frame
 * (`chunkFrame`), one write per upstream read. A cut, malformed or unfinished stream ends with
 * an error frame and no `[DONE]` (`failureFrame`), as Sluice's do.
 *
 * `duties`: the same, plus what Sluice's gateway does once per stream, done flat (`Duties`
 * below): request ids (in the answer's one `writeHead`, with CORS's `vary`), the route match,
 * the second validation, the request's abort controller and close watch, the heartbeat,
 * metrics, the health store's claim and booking, the attempt's own abort controller following
 * the request's and its headers timer, the upstream URL and headers, the abort listener on the
 * upstream request, the answer's ids and rate-limit headers, the preamble held until content,
 * `server-timing` and `x-sluice-target`.
 *
 * Neither has keys, limits, failover, logs, observers or dialects. Forked by
 * bench/gateway.bench.ts from the built package (dist/); sends `{ port }` over IPC.
 *
 *   node bench/gateway-lane-built.mjs <mockPort> <deployment> [parts|duties]
 * @module
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import { followSignal } from '../dist/abort.js';
import { buildUrl, DEFAULT_STREAM_TIMEOUTS, resolveTarget } from '../dist/client/options.js';
import { AbortError, StreamErrorFrame, TimeoutError } from '../dist/errors.js';
import { createMemoryHealth } from '../dist/gateway/health.js';
import { createAccumulator } from '../dist/protocol/accumulate.js';
import { parseRateLimit, requestIdOf } from '../dist/protocol/errors.js';
import { readStreamEvent, STREAM_DONE } from '../dist/protocol/events.js';
import { parseRequest, validateRequest } from '../dist/protocol/request.js';
import { checkChunk, shapeLimitsFor } from '../dist/protocol/shape.js';
import { chunkFrame, DONE_FRAME, failureFrame } from '../dist/protocol/sse-relay.js';
import { choiceText } from '../dist/protocol/text.js';
import { ServerMetrics } from '../dist/server/metrics.js';
import { timingHeaders } from '../dist/server/observer.js';
import { matchRoute } from '../dist/server/routes.js';
import { createDecoder } from '../dist/sse/decoder.js';
import { flattenHead } from '../dist/util/flatten-head.js';

const [mockPort, deployment = 'bench', mode = 'parts'] = process.argv.slice(2);
const DUTIES = mode === 'duties';
const agent = new Agent({ keepAlive: true });
const KEEP_SOURCE_JSON = Object.freeze({ keepSourceJson: true });
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};
const UPSTREAM = resolveTarget({ endpoint: `http://127.0.0.1:${mockPort}` });
const TARGET_ID = `${deployment}/0:azure:127.0.0.1:${mockPort}`;
const CAPABILITIES = Object.freeze({ tools: true, images: true });
const HEARTBEAT_MS = 15_000;
const metrics = new ServerMetrics();
const health = createMemoryHealth();
const live = new Set();

/** One answer's reading: the decoder's handlers (a class, one call target for every stream). */
class LaneStream {
  constructor(limits, holdPreamble) {
    this.limits = limits;
    this.accumulator = createAccumulator('chat');
    /** Frames of the current upstream read, written together. */
    this.out = '';
    /** Frames held before the first content (`duties`: as the router holds them for a failover). */
    this.held = holdPreamble ? '' : undefined;
    /** A chunk with answer text was read in the current upstream read (`duties`: first-token metrics). */
    this.text = false;
    this.sawDone = false;
    /** What ended the stream early (malformed chunk, error frame); undefined while it is fine. */
    this.failure = undefined;
  }

  onEvent(event) {
    if (this.failure !== undefined) return;
    try {
      const read = readStreamEvent(event, KEEP_SOURCE_JSON);
      if (read === STREAM_DONE) {
        // Relayed once the end is checked (an unfinished choice is a truncation even then).
        this.sawDone = true;
        return;
      }
      if (read instanceof StreamErrorFrame) throw read;
      const chunk = checkChunk(read, this.limits);
      this.accumulator.push(chunk);
      const frame = chunkFrame(chunk);
      if (this.held !== undefined) {
        if (isPreamble(chunk)) {
          this.held += frame;
          return;
        }
        this.out += this.held;
        this.held = undefined;
      }
      if (DUTIES && !this.text) this.text = chunk.choices.some((choice) => Boolean(choiceText(choice)));
      this.out += frame;
    } catch (error) {
      this.failure = error;
    }
  }
}

/** Before any content: no text, no finish, no usage (the router's rule, simplified). */
function isPreamble(chunk) {
  if (chunk.usage) return false;
  return chunk.choices.every((choice) => choice.finish_reason == null && !choiceText(choice));
}

/** What Sluice's gateway does once per stream, flat: one object per request. */
class Duties {
  constructor(req, res, startedAt) {
    this.res = res;
    this.startedAt = startedAt;
    this.requestId = randomUUID();
    this.label = 'unmatched';
    res.once('close', () => metrics.countRequest(this.label, res.headersSent ? res.statusCode : 499));
    const match = matchRoute(req.method ?? 'GET', req.url ?? '/');
    this.route = 'error' in match ? undefined : match.route;
    if (this.route) this.label = this.route.label;
    this.report = { model: deployment };
    this.meta = {};
    this.wrote = false;
    this.firstToken = false;
  }

  /** The second validation, against what the target can honour. */
  validate(body) {
    return validateRequest('chat', body, { apiVersion: this.route?.apiVersion, capabilities: CAPABILITIES }).ok;
  }

  /** The request's abort and close watch, the heartbeat, the health claim, the attempt's abort and headers timer. */
  begin() {
    const res = this.res;
    this.controller = new AbortController();
    live.add(this.controller);
    metrics.generations++;
    metrics.activeStreams++;
    this.onClose = () => {
      if (!res.writableFinished) this.controller.abort(new AbortError('The client closed the connection'));
    };
    res.on('close', this.onClose);
    this.heartbeat = setInterval(() => {
      if (this.wrote) this.wrote = false;
      else res.write(': keep-alive\n\n');
    }, HEARTBEAT_MS);
    if (health.available(TARGET_ID)) health.acquire(TARGET_ID);
    this.meta.attempts = 1;
    this.attemptStarted = performance.now();
    this.attempt = new AbortController();
    this.unfollow = followSignal(this.attempt, this.controller.signal);
    const ms = DEFAULT_STREAM_TIMEOUTS.headersMs;
    this.headersTimer = setTimeout(() => this.attempt.abort(new TimeoutError('headers', ms)), ms);
    const { url } = buildUrl(UPSTREAM, 'chat', deployment);
    this.path = url.slice(url.indexOf('/', 'http://'.length));
    return this.attempt.signal;
  }

  /** The upstream answered: headers timer off, the answer's ids and rate limit read. */
  answered(answer) {
    clearTimeout(this.headersTimer);
    this.meta.headersMs = performance.now() - this.attemptStarted;
    const headers = new Headers();
    const raw = answer.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    this.answerMeta = { requestId: requestIdOf(headers), rateLimit: parseRateLimit(headers) };
  }

  /** The answer's headers, with the gateway's own time and the target. */
  headers() {
    // Until the upstream was asked; the wait for its first content is not the gateway's own.
    this.report.gatewayMs = this.attemptStarted - this.startedAt;
    this.meta.target = TARGET_ID;
    return Object.assign({}, SSE_HEADERS, timingHeaders(this.report, { meta: this.meta }), {
      'x-sluice-target': encodeURI(TARGET_ID),
      'x-request-id': this.requestId,
      'apim-request-id': this.requestId,
      vary: 'origin',
    });
  }

  /** A write with content: the first token's metric and the health booking, once. */
  wroteContent(hasText) {
    this.wrote = true;
    metrics.chunksSent++;
    if (hasText && !this.firstToken) {
      this.firstToken = true;
      this.report.firstTokenMs = performance.now() - this.startedAt;
      metrics.observeTimeToFirstToken(this.report.firstTokenMs / 1000);
      health.success(TARGET_ID);
    }
  }

  /** Once, however the stream ended (the upstream may fail after its answer failed the stream). */
  end(outcome) {
    if (this.report.outcome !== undefined) return;
    clearInterval(this.heartbeat);
    clearTimeout(this.headersTimer);
    this.res.off('close', this.onClose);
    live.delete(this.controller);
    metrics.activeStreams--;
    this.unfollow();
    if (outcome !== 'served') health.release(TARGET_ID);
    this.report.outcome = outcome;
  }
}

const server = createServer({ noDelay: true }, (req, res) => {
  const duties = DUTIES ? new Duties(req, res, performance.now()) : undefined;
  const parts = [];
  req.on('data', (part) => parts.push(part));
  req.on('end', () => {
    const parsed = parseRequest('chat', Buffer.concat(parts).toString('utf8'));
    if (!parsed.ok || (duties && !duties.validate(parsed.body))) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: parsed.problem }));
      return;
    }
    const signal = duties?.begin();
    const payload = JSON.stringify(
      Object.assign({}, parsed.body, { stream: true, stream_options: { include_usage: true } }),
    );
    let answered;
    const upstream = request(
      {
        host: '127.0.0.1',
        port: mockPort,
        method: 'POST',
        path: duties ? duties.path : req.url,
        agent,
        headers: {
          'api-key': 'bench-key',
          'content-type': 'application/json',
          ...(duties ? { accept: 'text/event-stream', 'user-agent': 'sluice-bench' } : {}),
          'content-length': Buffer.byteLength(payload),
        },
      },
      (answer) => {
        answered = answer;
        duties?.answered(answer);
        if (answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
          answer.pipe(res);
          duties?.end('failed');
          return;
        }
        const lane = new LaneStream(shapeLimitsFor('chat', parsed.body), DUTIES);
        const decoder = createDecoder(lane);
        const writeHead = () => {
          res.writeHead(200, duties ? duties.headers() : SSE_HEADERS);
          flattenHead(res);
        };
        /** Ends the answer with what arrived, an error frame, and no `[DONE]`. */
        const fail = (error) => {
          answer.destroy();
          if (res.writableEnded) return; // ended already (the upstream failed after its end)
          if (!res.headersSent) writeHead();
          res.end(lane.out + (lane.held ?? '') + failureFrame(error));
          duties?.end('failed');
        };
        answer.on('data', (bytes) => {
          try {
            decoder.feed(bytes);
          } catch (error) {
            lane.failure = error;
          }
          if (lane.failure !== undefined) return fail(lane.failure);
          if (lane.out === '') return;
          if (!res.headersSent) writeHead();
          duties?.wroteContent(lane.text);
          res.write(lane.out);
          lane.out = '';
        });
        answer.on('end', () => {
          const end = lane.accumulator.finish({ sawDone: lane.sawDone });
          if (end.state === 'truncated') return fail(new Error(`The upstream stream was cut (${end.reason}).`));
          if (!res.headersSent) writeHead();
          res.end(lane.out + (lane.held ?? '') + DONE_FRAME);
          duties?.end('served');
        });
        answer.on('error', fail);
      },
    );
    if (signal) {
      // One listener for the whole exchange, as the client's fetch has.
      const onAbort = () => (answered ?? upstream).destroy(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      upstream.on('close', () => signal.removeEventListener('abort', onAbort));
    }
    upstream.on('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
      duties?.end('failed');
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(payload);
    flattenHead(upstream);
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
