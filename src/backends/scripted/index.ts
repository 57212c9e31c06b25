/**
 * A deterministic, scriptable backend for tests: chunks, delays, failures, hangs; records
 * requests and aborts.
 * @module
 */
export type {
  Script,
  ScriptedBackend,
  ScriptedBackendOptions,
  ScriptedCall,
  ScriptedOutcome,
  ScriptStep,
} from './scripted.js';
export { createScriptedBackend } from './scripted.js';
export type { TextScriptOptions } from './text-script.js';
export { textScript, wordPieces } from './text-script.js';
