// Preloaded with `node --import` by the CLI tests: any attempt to load node-llama-cpp fails,
// which proves a command never loads the local model's runtime when it does not use it.
import { register } from 'node:module';

const hooks = `
export async function resolve(specifier, context, next) {
  if (/^@?node-llama-cpp(\\/|$)/.test(specifier)) throw new Error('blocked: node-llama-cpp was imported');
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
