/**
 * What `complete` and `chat` are asked, once the user's own files have had their say: the
 * template (`-t NAME`, its parameters from `-p`), the defaults of the user's settings file,
 * and the attached files (`-a`). Flags always win; then the template; then the settings
 * file. `--save NAME` saves the invocation as a template instead of sending it.
 * @module
 */
import { allOptionNames, COMMANDS, type ParsedValues } from './args.js';
import { type Attachments, readAttachments } from './attachments.js';
import type { CommandContext } from './command.js';
import { ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';
import { templateParams } from './param-pairs.js';
import { readPromptInput } from './prompt-input.js';
import { UsageError } from './usage-error.js';
import {
  fillPlaceholders,
  INPUT_PARAMETER,
  loadTemplate,
  placeholders,
  saveTemplate,
  type Template,
} from './user/templates.js';
import { DEFAULTABLE_FLAGS, type FlagDefault, readUserConfig } from './user/user-config.js';

/** Where a flag's value came from, when not the command line. */
export type FlagSource = 'template' | 'user file';

/**
 * The command's context with templates, settings-file defaults and attachments applied;
 * the exit code when `--save` saved a template and nothing is to be sent.
 * @example
 * const prepared = await prepareInvocation('chat', io, values, positionals);
 * if (typeof prepared === 'number') return prepared;
 */
export async function prepareInvocation(
  command: 'complete' | 'chat',
  io: CliIO,
  values: ParsedValues,
  positionals: string[],
): Promise<CommandContext | number> {
  const user = readUserConfig(io.env);
  const params = templateParams(values.param as string[] | undefined);
  const templateName = str(values.template);
  const template = templateName === undefined ? undefined : loadTemplate(io.env, templateName);
  const saveName = str(values.save);
  if (saveName !== undefined) return save(io, command, saveName, values, positionals, template);
  if (template === undefined && Object.keys(params).length > 0) {
    throw new UsageError('-p fills a parameter of a template: use it with -t NAME (or --save NAME)', {
      setting: '--param',
      command,
    });
  }

  const own = new Set(allOptionNames(COMMANDS[command]));
  const out: ParsedValues = { ...values };
  const sources: Record<string, FlagSource> = {};
  const fill = (flag: string, value: FlagDefault | undefined, from: FlagSource) => {
    if (value === undefined || !own.has(flag) || out[flag] !== undefined) return;
    out[flag] = value;
    sources[flag] = from;
  };
  if (template !== undefined && templateName !== undefined) {
    if (template.system !== undefined && out.system === undefined) {
      fill('system', fillPlaceholders(template.system, params, templateName), 'template');
    }
    fill('model', template.model, 'template');
    for (const [flag, value] of Object.entries(template.options ?? {})) fill(flag, value, 'template');
    checkParamsUsed(template, params, templateName);
  }
  for (const [flag, value] of Object.entries(user.defaults)) fill(flag, value, 'user file');

  const files = (values.attach as string[] | undefined) ?? [];
  if (files.includes('-') && positionals.includes('-')) {
    throw new UsageError('stdin can be read once: use "-" as the prompt or as -a -, not both', { command });
  }
  const attached: Attachments =
    files.length > 0 ? await readAttachments(io, files) : { text: '', images: [], usedStdin: false };
  if (attached.images.length > 0 && command === 'complete') {
    throw new UsageError(`Images (-a ${attached.images.map((i) => i.name).join(', -a ')}) need sluice chat`, {
      setting: '--attach',
      command,
    });
  }
  if (template?.prompt === undefined && files.length === 0) return { io, values: out, positionals };

  // The prompt is put together here: the template's, the words and stdin, the files.
  const inputIO: CliIO = attached.usedStdin ? withoutStdin(io) : io;
  const input = await readPromptInput(inputIO, positionals, command);
  const parts: string[] = [];
  if (template?.prompt !== undefined && templateName !== undefined) {
    const usesInput = placeholders(template.prompt).includes(INPUT_PARAMETER);
    const withInput = usesInput && input !== undefined ? { ...params, [INPUT_PARAMETER]: input } : params;
    parts.push(fillPlaceholders(template.prompt, withInput, templateName));
    if (!usesInput && input) parts.push(input);
  } else if (input) parts.push(input);
  if (attached.text !== '') parts.push(attached.text);
  const prompt = parts.join('\n\n');
  return {
    io: withoutStdin(io),
    values: out,
    positionals: prompt === '' ? [] : [prompt],
    ...(attached.images.length > 0 ? { images: attached.images } : {}),
  };
}

// --- internal ---

/** `--save NAME`: this invocation's prompt, system message, model and request flags. */
function save(
  io: CliIO,
  command: 'complete' | 'chat',
  name: string,
  values: ParsedValues,
  positionals: string[],
  base: Template | undefined,
): number {
  const options: Record<string, FlagDefault> = { ...(base?.options ?? {}) };
  for (const flag of Object.keys(DEFAULTABLE_FLAGS)) {
    const v = values[flag];
    if (flag !== 'system' && v !== undefined) options[flag] = v as FlagDefault;
  }
  const prompt = positionals.length > 0 ? positionals.join(' ') : base?.prompt;
  const system = str(values.system) ?? base?.system;
  const model = str(values.model) ?? base?.model;
  const template: Template = {
    ...(prompt !== undefined ? { prompt } : {}),
    ...(system !== undefined ? { system } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
  };
  if (template.prompt === undefined && template.system === undefined) {
    throw new UsageError(`--save ${name} needs something to save: a prompt or --system`, {
      setting: '--save',
      command,
    });
  }
  const path = saveTemplate(io.env, name, template);
  const needs = placeholders(`${template.system ?? ''} ${template.prompt ?? ''}`).filter((p) => p !== INPUT_PARAMETER);
  const usage = `sluice ${command === 'chat' ? 'chat ' : ''}-t ${name}${[...new Set(needs)].map((p) => ` -p ${p} VALUE`).join('')}`;
  io.stderr.write(`sluice: saved template "${name}" to ${path}; use it with: ${usage}\n`);
  return ExitCode.OK;
}

/** A `-p` the template never uses is a typing mistake worth naming. */
function checkParamsUsed(template: Template, params: Record<string, string>, name: string): void {
  const used = new Set(placeholders(`${template.system ?? ''} ${template.prompt ?? ''}`));
  for (const key of Object.keys(params)) {
    if (!used.has(key)) {
      const known = [...used].filter((k) => k !== INPUT_PARAMETER);
      throw new UsageError(
        `Template "${name}" has no $${key}${known.length > 0 ? `; its parameters: ${known.join(', ')}` : ' (it takes no parameters)'}`,
        { setting: '--param' },
      );
    }
  }
}

/** The same IO with stdin already consumed. */
function withoutStdin(io: CliIO): CliIO {
  return Object.create(io, { stdinKind: { value: 'none', enumerable: true } }) as CliIO;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
