// A tiny OTLP/HTTP receiver on 127.0.0.1 for telemetry tests: it keeps every body the
// exporters post (JSON) and reads spans and metric names out of them.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: OtlpAttribute[];
  status?: { code?: number };
}

/** Starts the receiver for one test; closed when the test ends. */
export async function startReceiver(t: TestContext) {
  const bodies: Array<{ path: string; type: string; text: string }> = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      bodies.push({
        path: req.url ?? '',
        type: req.headers['content-type'] ?? '',
        text: Buffer.concat(parts).toString(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    spans(): OtlpSpan[] {
      return bodies
        .filter((b) => b.path === '/v1/traces')
        .flatMap((b) => JSON.parse(b.text).resourceSpans)
        .flatMap((r: { scopeSpans: Array<{ spans: OtlpSpan[] }> }) => r.scopeSpans.flatMap((s) => s.spans));
    },
    metricNames(): string[] {
      return bodies
        .filter((b) => b.path === '/v1/metrics')
        .flatMap((b) => JSON.parse(b.text).resourceMetrics)
        .flatMap((r: { scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }) =>
          r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name)),
        );
    },
  };
}

/** An attribute's value, numbers as numbers. */
export function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.doubleValue ?? v.boolValue ?? v;
}
