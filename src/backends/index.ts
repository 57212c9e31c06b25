/**
 * Backends: the seam (`Backend`) and its implementations — the local model and a scripted
 * backend for tests.
 * @module
 */

// The seam

export type { Backend, BackendRequest, ModelInfo } from '../backend.js';

// Local model (node-llama-cpp, imported only when a request needs it)

export * from './local/index.js';

// Scripted (tests; also in sluice/testing)

export * from './scripted/index.js';
