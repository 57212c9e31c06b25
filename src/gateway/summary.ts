/**
 * A validated configuration in a few lines, for `sluice serve --check-config` and the
 * start-up banner: each name, its targets by id with their routing data. Keys are only
 * ever shown as `****`; endpoints only by host (inside the target id). Pure.
 * @module
 */
import type { Timeouts } from '../client/options.js';
import type { GatewayConfig, TargetConfig } from './schema.js';
import { targetId } from './targets.js';

/** Shown instead of every key. */
export const MASK = '****';

/**
 * The lines of the summary (no trailing newline).
 * @example
 * summarizeGatewayConfig(config, 'sluice.yaml')
 * // ['sluice.yaml: 2 models, 3 targets', '  gpt-4o', '    gpt-4o/0:azure:east.openai.azure.com  deployment gpt-4o, key ****, …', …]
 */
export function summarizeGatewayConfig(config: GatewayConfig, file: string): string[] {
  const names = Object.entries(config.models);
  const targets = names.reduce((n, [, m]) => n + m.targets.length, 0);
  const lines = [`${file}: ${count(names.length, 'model')}, ${count(targets, 'target')}`];
  for (const [name, model] of names) {
    lines.push(`  ${name}${model.continueOnFailure ? '  (continue_on_failure)' : ''}`);
    model.targets.forEach((target, index) => {
      lines.push(`    ${targetId(name, index, target)}  ${details(target).join(', ')}`);
    });
  }
  const { server, routing, telemetry } = config;
  const serverParts = [
    server.host !== undefined ? `host ${server.host}` : undefined,
    server.port !== undefined ? `port ${server.port}` : undefined,
    server.apiKey !== undefined ? `clients need key ${MASK}` : undefined,
  ].filter((p) => p !== undefined);
  if (serverParts.length > 0) lines.push(`  server: ${serverParts.join(', ')}`);
  const routingParts = [
    routing.maxCooldownMs !== undefined ? `max cooldown ${routing.maxCooldownMs} ms` : undefined,
    routing.failoverOn !== undefined ? `fail over on ${routing.failoverOn.join(' ')}` : undefined,
    routing.breaker !== undefined
      ? `breaker ${[
          routing.breaker.failures !== undefined ? `${routing.breaker.failures} failures` : undefined,
          routing.breaker.windowMs !== undefined ? `in ${routing.breaker.windowMs} ms` : undefined,
          routing.breaker.probeAfterMs !== undefined ? `probe after ${routing.breaker.probeAfterMs} ms` : undefined,
        ]
          .filter((p) => p !== undefined)
          .join(' ')}`
      : undefined,
  ].filter((p) => p !== undefined);
  if (routingParts.length > 0) lines.push(`  routing: ${routingParts.join(', ')}`);
  if (telemetry.otlpEndpoint !== undefined) lines.push(`  telemetry: OTLP to ${new URL(telemetry.otlpEndpoint).host}`);
  return lines;
}

// --- internal ---

function details(target: TargetConfig): string[] {
  const own =
    target.kind === 'azure'
      ? [
          `deployment ${target.deployment}`,
          ...(target.route === 'v1' ? ['v1 route'] : []),
          ...(target.apiVersion !== undefined ? [`api-version ${target.apiVersion}`] : []),
        ]
      : target.kind === 'openai'
        ? [`model ${target.model}`]
        : [target.modelPath === undefined ? 'the embedded model' : 'model file'];
  const key = target.kind === 'local' ? [] : [target.apiKey !== undefined ? `key ${MASK}` : 'no key'];
  return [
    ...own,
    ...key,
    `priority ${target.priority}`,
    `weight ${target.weight}`,
    ...(target.rpm !== undefined ? [`rpm ${target.rpm}`] : []),
    ...(target.tpm !== undefined ? [`tpm ${target.tpm}`] : []),
    ...timeouts(target.timeouts),
  ];
}

function timeouts(t: Timeouts): string[] {
  const parts = [
    t.headersMs !== undefined ? `headers ${t.headersMs} ms` : undefined,
    t.firstTokenMs !== undefined ? `first token ${t.firstTokenMs} ms` : undefined,
    t.idleMs !== undefined ? `idle ${t.idleMs} ms` : undefined,
    t.totalMs !== undefined ? `total ${t.totalMs} ms` : undefined,
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? [`time-outs (${parts.join(', ')})`] : [];
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
