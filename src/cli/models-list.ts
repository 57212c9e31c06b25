/**
 * What `sluice models` lists: the models an OpenAI-compatible server (or Azure's v1 route)
 * offers at `GET /models`, the deployments of an Azure resource where its API still lists
 * them, or the local GGUF files. Every byte of the answer is checked: only string ids are
 * taken, the body is capped, a failure is a typed error.
 * @module
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readBodyWithin } from '../client/http.js';
import { ConnectionError, TimeoutError } from '../errors.js';
import { errorFromResponse } from '../protocol/errors.js';
import type { AzureTarget, LocalTarget, OpenAITarget } from './config.js';
import { UsageError } from './usage-error.js';

export interface ListedModel {
  id: string;
  /** Where it comes from: `endpoint`, `embedded`, or the GGUF file's path. */
  source: string;
}

/** The last api-version whose data-plane API lists deployments (later ones dropped it). */
export const DEPLOYMENTS_API_VERSION = '2022-12-01';
const MAX_BODY = 4 * 1024 * 1024;
const TIMEOUT_MS = 30_000;

/**
 * The models or deployments a remote target offers.
 * @example
 * await remoteModels({ kind: 'openai', baseURL: 'http://127.0.0.1:8080/v1', model: 'x' }) // [{ id: 'x', ... }]
 */
export async function remoteModels(target: AzureTarget | OpenAITarget): Promise<ListedModel[]> {
  let url: string;
  let headers: Record<string, string>;
  if (target.kind === 'openai') {
    url = `${target.baseURL}/models`;
    headers = target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {};
  } else {
    url =
      target.route === 'v1'
        ? `${target.endpoint}/openai/v1/models`
        : `${target.endpoint}/openai/deployments?api-version=${DEPLOYMENTS_API_VERSION}`;
    headers = target.apiKey ? { 'api-key': target.apiKey } : {};
  }
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') throw new TimeoutError('headers', TIMEOUT_MS);
    throw new ConnectionError(`Could not reach ${new URL(url).origin}: ${(error as Error).message}`, { cause: error });
  }
  const text = await readBodyWithin(response, MAX_BODY);
  if (!response.ok) {
    if (
      target.kind === 'azure' &&
      target.route === 'deployments' &&
      (response.status === 404 || response.status === 400)
    ) {
      throw new UsageError(
        `${target.endpoint} does not list its deployments over the API: see them in the Azure AI Foundry portal or with "az cognitiveservices account deployment list", or use the v1 route (an endpoint ending in /openai/v1), which lists its models`,
        { command: 'models' },
      );
    }
    throw errorFromResponse(response.status, response.headers, text);
  }
  return idsOf(text).map((id) => ({ id, source: 'endpoint' }));
}

/**
 * The local models: the embedded one, the configured file, and the GGUF files in the
 * models folders (`dirs`).
 * @example
 * localModels(target, DEFAULT_MODEL_PATH, ['/home/ada/.local/share/sluice/models'])
 */
export function localModels(target: LocalTarget, embedded: string, dirs: readonly string[]): ListedModel[] {
  const out = new Map<string, ListedModel>();
  const add = (path: string, source: string) => {
    if (!out.has(path)) out.set(path, { id: basename(path).replace(/\.gguf$/i, ''), source });
  };
  add(embedded, 'embedded');
  if (target.modelPath !== undefined) add(target.modelPath, target.modelPath);
  const folders = [...dirs, ...(target.modelPath !== undefined ? [dirname(target.modelPath)] : [])];
  for (const dir of folders) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.sort()) if (/\.gguf$/i.test(name)) add(join(dir, name), join(dir, name));
  }
  return [...out.values()];
}

// --- internal ---

/** `{ data: [{ id }] }`: string ids only, anything else in the body ignored. */
function idsOf(text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UsageError(
      'The endpoint answered the models list with something that is not JSON: is it the right URL?',
      {
        command: 'models',
      },
    );
  }
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  const ids: string[] = [];
  for (const entry of data) {
    const id = (entry as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id !== '') ids.push(id.slice(0, 256));
  }
  return ids;
}
