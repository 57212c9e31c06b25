/**
 * Help text, rendered from the command declarations (pure: returns strings; main prints).
 * @module
 */
import { COMMANDS, type CommandDef, type OptionDef } from './args.js';
import { EXIT_CODE_MEANINGS } from './exit-codes.js';

/** Environment variables the CLI reads, for help and docs. */
export const ENVIRONMENT: ReadonlyArray<{ name: string; meaning: string }> = [
  { name: 'AZURE_OPENAI_ENDPOINT', meaning: 'Azure OpenAI endpoint, e.g. https://x.openai.azure.com' },
  { name: 'AZURE_OPENAI_API_KEY', meaning: 'its key (never printed)' },
  { name: 'AZURE_OPENAI_DEPLOYMENT', meaning: 'deployment name (AZURE_OPENAI_DEPLOYMENT_NAME also works)' },
  { name: 'OPENAI_API_VERSION', meaning: 'Azure api-version (AZURE_OPENAI_API_VERSION also works)' },
  { name: 'OPENAI_BASE_URL', meaning: 'OpenAI-compatible server, used when no Azure endpoint is set' },
  { name: 'OPENAI_API_KEY', meaning: 'key for it (alone: https://api.openai.com/v1)' },
  { name: 'OPENAI_MODEL', meaning: 'model for it, when --model is not given' },
  { name: 'SLUICE_MODEL', meaning: 'GGUF file for the local model (default: the embedded one)' },
  { name: 'SLUICE_THREADS', meaning: 'CPU threads for the local model (default 1)' },
  { name: 'SLUICE_API_KEY', meaning: 'sluice serve: key required from clients' },
  { name: 'SLUICE_CONFIG', meaning: 'sluice serve: gateway configuration file, when --config is not given' },
  { name: 'SLUICE_LOG_DB', meaning: 'the log database file (default $XDG_DATA_HOME/sluice/logs.db)' },
  { name: 'NO_COLOR', meaning: 'set: no colours or Markdown styling on the terminal' },
  { name: 'FORCE_COLOR', meaning: '0: as NO_COLOR; other values: styled even when piped (line by line)' },
];

/**
 * The top-level help (`sluice --help`).
 * @example
 * renderMainUsage('0.1.0').includes('Exit codes') // true
 */
export function renderMainUsage(version: string): string {
  const lines: string[] = [];
  lines.push(`sluice ${version}: stream LLM answers from Azure OpenAI, OpenAI-compatible servers or a local model`);
  lines.push('');
  lines.push('Usage:');
  const rows: Array<[string, string]> = [
    ['sluice [complete] [options] PROMPT...', COMMANDS.complete.summary],
    ['sluice chat [options] [MESSAGE...]', COMMANDS.chat.summary],
    ['sluice serve [options]', COMMANDS.serve.summary],
    ['sluice logs [options] [WORDS...]', COMMANDS.logs.summary],
    ['sluice models [options]', COMMANDS.models.summary],
    ['sluice config [options]', COMMANDS.config.summary],
    ['sluice keys set NAME | list | hash', COMMANDS.keys.summary],
    ['sluice usage [options]', COMMANDS.usage.summary],
    ['sluice COMMAND --help', "a command's options"],
    ['sluice -- PROMPT...', 'a prompt that starts with "-" or with a word like a mistyped command'],
    ['sluice --version', 'print the version'],
  ];
  lines.push(...table(rows, 2));
  lines.push('');
  lines.push('Settings: flags win over the environment, which wins over a .env file in the current directory,');
  lines.push(
    '  then keys stored with sluice keys, then your settings file ~/.config/sluice/config.json (sluice config).',
  );
  lines.push(
    ...table(
      ENVIRONMENT.map((e) => [e.name, e.meaning]),
      2,
    ),
  );
  lines.push('  With --profile NAME the Azure and OpenAI names are read with a _FOR_<NAME> suffix instead,');
  lines.push('  e.g. AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT for --profile instruct.');
  lines.push('  With nothing configured, the embedded local model answers (one line on stderr says so).');
  lines.push('  When the endpoint and the key come from different places and one is .env, one line says so.');
  lines.push('');
  lines.push(...renderExitCodes());
  lines.push('');
  lines.push('Examples:');
  for (const e of [...COMMANDS.complete.examples.slice(0, 2), ...COMMANDS.chat.examples.slice(0, 2)]) {
    lines.push(`  ${e}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One command's help (`sluice chat --help`).
 * @example
 * renderCommandUsage(COMMANDS.chat).includes('--system') // true
 */
export function renderCommandUsage(def: CommandDef): string {
  const lines: string[] = [`sluice ${def.name}: ${def.summary}`, '', 'Usage:'];
  for (const u of def.usage) lines.push(`  ${u}`);
  // One column width for every group, so the whole help lines up.
  const labels = def.groups.flatMap((g) => Object.entries(g.options).map(([n, o]) => flagLabel(n, o)));
  const width = Math.max(...labels.map((l) => l.length));
  for (const group of def.groups) {
    lines.push('', `${group.title}:`);
    const rows = Object.entries(group.options).map(([name, o]): [string, string] => [
      flagLabel(name, o),
      o.description,
    ]);
    lines.push(...table(rows, 2, width));
  }
  if (def.notes?.length) {
    lines.push('');
    for (const n of def.notes) lines.push(n);
  }
  lines.push('', 'Examples:');
  for (const e of def.examples) lines.push(`  ${e}`);
  if (def.name !== 'serve') {
    lines.push('', ...renderExitCodes());
  }
  return `${lines.join('\n')}\n`;
}

/** The exit-code table, as printed in help. */
export function renderExitCodes(): string[] {
  return [
    'Exit codes:',
    ...table(
      EXIT_CODE_MEANINGS.map((e) => [String(e.code), e.meaning]),
      2,
    ),
  ];
}

// --- internal ---

function flagLabel(name: string, o: OptionDef): string {
  const long = name.length === 1 ? `-${name}` : `--${name}`;
  const short = o.short && o.short !== name ? `-${o.short}, ` : '';
  return `${short}${long}${o.value ? ` ${o.value}` : ''}`;
}

function table(rows: ReadonlyArray<readonly [string, string]>, indent: number, minWidth = 0): string[] {
  const width = Math.max(minWidth, Math.min(40, Math.max(...rows.map(([a]) => a.length))));
  const pad = ' '.repeat(indent);
  return rows.map(([a, b]) =>
    a.length > width ? `${pad}${a}\n${pad}${' '.repeat(width + 2)}${b}` : `${pad}${a.padEnd(width)}  ${b}`,
  );
}
