/**
 * `sluice/testing`: what a project needs to test code built on Sluice — the backend
 * conformance suite (node:test) every Backend should pass, the scripted backend, and an
 * Azure-shaped, fault-injecting OpenAI test server on 127.0.0.1. Import it from tests only:
 * the conformance suite loads `node:test`.
 *
 * @example
 * import { createScriptedBackend, runBackendConformance, textScript } from 'sluice/testing';
 * runBackendConformance('scripted', () => createScriptedBackend(textScript('chat', 'Hello there')));
 *
 * @example
 * import { chatChunks, startAzureServer, stream } from 'sluice/testing';
 * const server = await startAzureServer({ scenarios: { gpt: stream(chatChunks(['Hel', 'lo'])) } });
 * // point a client at server.url with deployment 'gpt'; then await server.close()
 * @module
 */

// The Backend contract, as a suite

export type { ConformanceCheck, ConformanceOptions } from './conformance.js';
export { conformanceChecks, defaultLongRequest, defaultShortRequest, runBackendConformance } from './conformance.js';

// A deterministic backend

export * from '../backends/scripted/index.js';

// An Azure-shaped test server

export type {
  AzureServer,
  AzureServerOptions,
  ChunkOptions,
  RecordedRequest,
  Reply,
  Scenario,
  StreamItem,
} from './azure-server.js';
export {
  annotation,
  azureError,
  chatChunks,
  completionChunks,
  embeddingsReply,
  encodeItem,
  redirect,
  reply,
  reset,
  startAzureServer,
  stream,
} from './azure-server.js';
export type { ResponsesEnd, ResponsesScript } from './responses-events.js';
export { responseObject, responsesEvents } from './responses-events.js';

// Named upstream faults for that server

export type { Fault, FaultOptions } from './faults.js';
export { DEFAULT_FAULT_TEXTS, FAULTS, faultScenario } from './faults.js';
