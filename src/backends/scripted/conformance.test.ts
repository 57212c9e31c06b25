import { runBackendConformance } from '../../testing/conformance.js';
import { createScriptedBackend } from './scripted.js';
import { textScript } from './text-script.js';

const story = 'Once upon a time there was a little cat who liked to sit in the sun and watch the birds fly by.';

runBackendConformance('scripted', () =>
  createScriptedBackend((request) => textScript(request.kind, story, { delayMs: 1, n: 2 })),
);
