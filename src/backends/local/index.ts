/**
 * The local model backend: a GGUF model run in-process by node-llama-cpp.
 * @module
 */
export type { LoadedModelInfo, LocalBackend, LocalBackendOptions, LocalBackendStats } from './local-backend.js';
export { createLocalBackend, DEFAULT_MODEL_PATH } from './local-backend.js';
