/**
 * The interactive chat's commands that change the session: `/model NAME` (another model
 * from the next question on), `/system TEXT`, `/save NAME` (the session's system message and
 * model as a template) and `/load NAME` (a template's). Each returns the session as it is
 * afterwards; a mistake is said in one line and changes nothing.
 * @module
 */
import { basename } from 'node:path';
import type { ParsedValues } from './args.js';
import { openEngineFor, type Setup, setup } from './commands/shared.js';
import { describeError } from './describe.js';
import type { Engine } from './engine.js';
import type { CliIO } from './io.js';
import { loadTemplate, placeholders, saveTemplate } from './user/templates.js';

/** What a session command may change. */
export interface ChatSession {
  setup: Setup;
  engine: Engine;
  system: string | undefined;
}

/** The commands this module handles, with their help lines. */
export const SESSION_COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['/model', '/model NAME  ask another model from now on (alias, name or .gguf); alone: the current one'],
  ['/system', '/system TEXT the system message from now on; alone: show it; "/system -": none'],
  ['/save', '/save NAME   save the system message and model as the template NAME (sluice chat -t NAME)'],
  ['/load', '/load NAME   take the system message and model of the template NAME'],
];

/**
 * Runs `line` when it is a session command: resolves to the session afterwards (the same
 * one when nothing changed), or undefined when `line` is not one of these commands.
 * @example
 * const next = await sessionCommand('/model gpt-4o', session, { io, values, say });
 */
export async function sessionCommand(
  line: string,
  session: ChatSession,
  context: { io: CliIO; values: ParsedValues; say: (text: string) => void },
): Promise<ChatSession | undefined> {
  const { io, say } = context;
  const [command = '', ...words] = line.trim().split(/\s+/);
  const arg = line.trim().slice(command.length).trim();
  if (!SESSION_COMMANDS.some(([name]) => name === command)) return undefined;
  try {
    switch (command) {
      case '/model':
        if (arg === '') {
          say(`model: ${modelOf(session.setup)}`);
          return session;
        }
        return await switchModel(arg, session, context);
      case '/system':
        if (arg === '') say(session.system === undefined ? 'no system message' : `system: ${session.system}`);
        else if (arg === '-') say('System message removed.');
        else say('System message set.');
        return arg === '' ? session : { ...session, system: arg === '-' ? undefined : arg };
      case '/save': {
        const name = oneName(words, '/save');
        if (name === undefined) return session;
        const path = saveTemplate(io.env, name, {
          ...(session.system !== undefined ? { system: session.system } : {}),
          ...(modelName(session.setup) !== undefined ? { model: modelName(session.setup) } : {}),
        });
        say(`Saved as template "${name}" (${path}): sluice chat -t ${name}, or /load ${name}.`);
        return session;
      }
      default: {
        const name = oneName(words, '/load');
        if (name === undefined) return session;
        const template = loadTemplate(io.env, name);
        const needs = placeholders(template.system ?? '');
        if (needs.length > 0) {
          say(
            `Template "${name}" needs parameters (${needs.map((p) => `$${p}`).join(', ')}): start it with sluice chat -t ${name} -p ...`,
          );
          return session;
        }
        let next: ChatSession = template.system !== undefined ? { ...session, system: template.system } : session;
        if (template.model !== undefined) next = await switchModel(template.model, next, context);
        say(`Loaded template "${name}".`);
        return next;
      }
    }
  } catch (error) {
    say(describeError(error, session.setup.describe));
    return session;
  }

  function oneName(w: string[], cmd: string): string | undefined {
    if (w.length === 1) return w[0];
    say(`${cmd} takes one name: ${cmd} NAME`);
    return undefined;
  }
}

// --- internal ---

/** Resolves the settings again with `--model NAME` and opens that engine (the caller closes the old one). */
async function switchModel(
  name: string,
  session: ChatSession,
  context: { io: CliIO; values: ParsedValues; say: (text: string) => void },
): Promise<ChatSession> {
  const { deployment: _ignored, ...values } = context.values;
  const next = setup(context.io, { ...values, model: name }, 'chat');
  if (next.config.target.kind === 'local' && next.config.target.modelPath === undefined) {
    context.say(`The local model answers here: /model takes a .gguf file (or an alias of one), not "${name}".`);
    return session;
  }
  const engine = await openEngineFor(context.io, next);
  if (typeof engine === 'number') return session;
  engine.warm?.().catch(() => {});
  context.say(`model: ${modelOf(next)}`);
  return { ...session, setup: next, engine };
}

function modelName(s: Setup): string | undefined {
  const t = s.config.target;
  return t.kind === 'azure' ? t.deployment : t.kind === 'openai' ? t.model : t.modelPath;
}

function modelOf(s: Setup): string {
  const t = s.config.target;
  if (t.kind === 'local') return t.modelPath === undefined ? 'the embedded local model' : basename(t.modelPath);
  return modelName(s) ?? '';
}
