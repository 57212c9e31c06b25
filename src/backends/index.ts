/**
 * Backends: the seam (`Backend`) and its implementations — the local model and a scripted
 * backend for tests.
 * @module
 */

// The seam
export type { Backend, BackendRequest, ModelInfo } from './backend.js';

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
