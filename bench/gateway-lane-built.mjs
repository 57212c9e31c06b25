/**
 * The gateway bench's "parts lane" (`--lane`): Sluice's own parts for a relay, wired with none
 * of the layers around them. A measuring stick, not a gateway: it shows what a stream costs
 * when it crosses only what any Sluice relay must run, so that a bench run tells how much of
 * Sluice's cost is the parts and how much the layers (the client's stream, the server's
 * generation, the router's attempt) that carry them (docs/gateway.md, Round 11).
 *
 * Per request: the server's request validation (`parseRequest`), one keep-alive `node:http`
 * request upstream. Per chunk: the SSE decoder, the event reader keeping the upstream's JSON
 * text (`readStreamEvent`), the shape check (`checkChunk`), the accumulator (the partial and the
 * end state), the frame (`chunkFrame`), one write per upstream read. A cut, malformed or
 * unfinished stream ends with an error frame and no `[DONE]` (`failureFrame`), as Sluice's do.
 * No keys, limits, routing, failover, time-outs, heartbeats, logs, metrics or dialects.
 *
 * Forked by bench/gateway.bench.ts from the built package (dist/); sends `{ port }` over IPC.
 *
 *   node bench/gateway-lane-built.mjs <mockPort>
 * @module
 */
import { Agent, createServer, request } from 'node:http';
import { StreamErrorFrame } from '../dist/errors.js';
import { createAccumulator } from '../dist/protocol/accumulate.js';
import { readStreamEvent, STREAM_DONE } from '../dist/protocol/events.js';
import { parseRequest } from '../dist/protocol/request.js';
import { checkChunk, shapeLimitsFor } from '../dist/protocol/shape.js';
import { chunkFrame, DONE_FRAME, failureFrame } from '../dist/protocol/sse-relay.js';
import { createDecoder } from '../dist/sse/decoder.js';

const [mockPort] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true });
const KEEP_SOURCE_JSON = Object.freeze({ keepSourceJson: true });
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** One answer's reading: the decoder's handlers (a class, one call target for every stream). */
class LaneStream {
  constructor(limits) {
    this.limits = limits;
    this.accumulator = createAccumulator('chat');
    /** Frames of the current upstream read, written together. */
    this.out = '';
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
      this.out += chunkFrame(chunk);
    } catch (error) {
      this.failure = error;
    }
  }
}

const server = createServer({ noDelay: true }, (req, res) => {
  const parts = [];
  req.on('data', (part) => parts.push(part));
  req.on('end', () => {
    const parsed = parseRequest('chat', Buffer.concat(parts).toString('utf8'));
    if (!parsed.ok) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: parsed.problem }));
      return;
    }
    const payload = JSON.stringify(
      Object.assign({}, parsed.body, { stream: true, stream_options: { include_usage: true } }),
    );
    const upstream = request(
      {
        host: '127.0.0.1',
        port: mockPort,
        method: 'POST',
        path: req.url,
        agent,
        headers: {
          'api-key': 'bench-key',
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (answer) => {
        if (answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
          answer.pipe(res);
          return;
        }
        const lane = new LaneStream(shapeLimitsFor('chat', parsed.body));
        const decoder = createDecoder(lane);
        /** Ends the answer with what arrived, an error frame, and no `[DONE]`. */
        const fail = (error) => {
          answer.destroy();
          if (res.writableEnded) return; // ended already (the upstream failed after its end)
          if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
          res.end(lane.out + failureFrame(error));
        };
        answer.on('data', (bytes) => {
          try {
            decoder.feed(bytes);
          } catch (error) {
            lane.failure = error;
          }
          if (lane.failure !== undefined) return fail(lane.failure);
          if (lane.out === '') return;
          if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
          res.write(lane.out);
          lane.out = '';
        });
        answer.on('end', () => {
          const end = lane.accumulator.finish({ sawDone: lane.sawDone });
          if (end.state === 'truncated') return fail(new Error(`The upstream stream was cut (${end.reason}).`));
          if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
          res.end(lane.out + DONE_FRAME);
        });
        answer.on('error', fail);
      },
    );
    upstream.on('error', () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(payload);
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
process.on('disconnect', () => process.exit(0));
