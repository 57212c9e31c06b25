/**
 * Backends: the seam (`Backend`) and its implementations — the local model and a scripted
 * backend for tests.
 * @module
 */

// The seam
export type { Backend, BackendRequest, ModelInfo } from '../backend.js';

// Local model (node-llama-cpp, imported only when a request needs it)
export type { LoadedModelInfo, LocalBackend, LocalBackendOptions, LocalBackendStats } from './local/index.js';
export { createLocalBackend, DEFAULT_MODEL_PATH } from './local/index.js';

// Scripted (tests)
export type {
  Script,
  ScriptedBackend,
  ScriptedBackendOptions,
  ScriptedCall,
  ScriptedOutcome,
  ScriptStep,
  TextScriptOptions,
} from './scripted/index.js';
export { createScriptedBackend, textScript, wordPieces } from './scripted/index.js';
