/**
 * Commands and their flags, declared once as data: parsing (node:util parseArgs), help text
 * and docs all come from these declarations. No command code is imported here, so parsing
 * and `--help` stay cheap; each command module is loaded only when it runs.
 * @module
 */
import { parseArgs } from 'node:util';
import { closest, flagSlack } from '../util/near-miss.js';
import { joinParamPairs } from './param-pairs.js';
import { UsageError } from './usage-error.js';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  /** May be given several times (string options only). */
  multiple?: boolean;
  /** Placeholder shown in help, e.g. `N`, `NAME`, `SECONDS`. */
  value?: string;
  description: string;
}

export interface OptionGroup {
  title: string;
  options: Record<string, OptionDef>;
}

export type CommandName = 'complete' | 'chat' | 'serve' | 'logs' | 'models' | 'config' | 'keys' | 'usage';

export interface CommandDef {
  name: CommandName;
  summary: string;
  usage: string[];
  /** Extra paragraphs printed after the options. */
  notes?: string[];
  groups: OptionGroup[];
  examples: string[];
}

const CONNECTION: OptionGroup = {
  title: 'Where to send it',
  options: {
    profile: {
      type: 'string',
      value: 'NAME',
      description: 'read the settings named with a _FOR_<NAME> suffix (AZURE_OPENAI_ENDPOINT_FOR_INSTRUCT, ...)',
    },
    endpoint: {
      type: 'string',
      value: 'URL',
      description: 'Azure OpenAI endpoint (AZURE_OPENAI_ENDPOINT); a URL ending in /openai/v1 uses the v1 route',
    },
    deployment: {
      type: 'string',
      value: 'NAME',
      description: 'Azure deployment (AZURE_OPENAI_DEPLOYMENT), or the model of an OpenAI-compatible server',
    },
    model: {
      type: 'string',
      short: 'm',
      value: 'NAME|PATH',
      description:
        'a .gguf path (or any existing file) runs that local model; an alias of your settings file, or any other value, means --deployment',
    },
    'api-version': {
      type: 'string',
      value: 'VERSION',
      description: 'Azure api-version (OPENAI_API_VERSION), default 2024-10-21',
    },
    'base-url': {
      type: 'string',
      value: 'URL',
      description: 'OpenAI-compatible server (OPENAI_BASE_URL), e.g. http://127.0.0.1:8080/v1',
    },
    local: { type: 'boolean', description: 'use the embedded local model even when Azure/OpenAI is configured' },
    threads: { type: 'string', value: 'N', description: 'CPU threads for the local model (SLUICE_THREADS), default 1' },
  },
};

const REQUEST: OptionGroup = {
  title: 'Request',
  options: {
    'max-tokens': { type: 'string', value: 'N', description: 'longest answer, in tokens (complete: default 256)' },
    temperature: { type: 'string', value: 'T', description: 'sampling temperature, 0 to 2' },
    'top-p': { type: 'string', value: 'P', description: 'nucleus sampling, 0 to 1' },
    stop: {
      type: 'string',
      multiple: true,
      value: 'TEXT',
      description: 'stop sequence, up to 4 (repeat the flag); \\n and \\t are understood',
    },
    seed: { type: 'string', value: 'N', description: 'integer seed for repeatable sampling' },
    n: { type: 'string', short: 'n', value: 'N', description: 'number of answers, 1 to 128; each one is labelled' },
    timeout: {
      type: 'string',
      value: 'SECONDS',
      description: 'give up if the whole answer takes longer (default: no limit)',
    },
    'idle-timeout': {
      type: 'string',
      value: 'SECONDS',
      description: 'give up if no chunk arrives for this long (default 120)',
    },
    retries: {
      type: 'string',
      value: 'N',
      description: 'retries before the first byte on 429/5xx/network errors, 0 to 10 (default 2)',
    },
    'no-stream': { type: 'boolean', description: 'ask for the whole answer at once, then print it' },
  },
};

const OUTPUT: OptionGroup = {
  title: 'Output',
  options: {
    raw: { type: 'boolean', description: 'print text exactly as it arrives, no Markdown rendering' },
    json: {
      type: 'boolean',
      description: 'NDJSON on stdout: one raw chunk per line, then a summary line',
    },
    stats: {
      type: 'boolean',
      description: 'on stderr: time to first token, tokens/s, chunk gaps, usage, finish reason, request id',
    },
  },
};

const LOG: OptionGroup = {
  title: 'Log',
  options: {
    'no-log': { type: 'boolean', description: 'do not log this exchange (sluice logs off: never log)' },
  },
};

/** Prompts from templates, and files sent with them (complete and chat). */
const PROMPT: OptionGroup = {
  title: 'Prompt',
  options: {
    template: { type: 'string', short: 't', value: 'NAME', description: 'use the saved template NAME (see --save)' },
    param: {
      type: 'string',
      short: 'p',
      multiple: true,
      value: 'KEY VALUE',
      description: "a template's parameter: $KEY in it becomes VALUE (repeat for more)",
    },
    save: {
      type: 'string',
      value: 'NAME',
      description: 'save this prompt, system message, model and options as the template NAME (nothing is sent)',
    },
    attach: {
      type: 'string',
      short: 'a',
      multiple: true,
      value: 'FILE',
      description: 'send a file: text is inlined with its name; png/jpeg/gif/webp as an image (chat); - for stdin',
    },
  },
};

const HELP: OptionGroup = {
  title: 'General',
  options: { help: { type: 'boolean', short: 'h', description: 'show this help' } },
};

export const COMMANDS: Record<CommandName, CommandDef> = {
  complete: {
    name: 'complete',
    summary: 'stream a legacy Completions answer (the default command)',
    usage: ['sluice [complete] [options] PROMPT...', 'sluice [complete] [options] -    (prompt from stdin)'],
    notes: ['Piped stdin is appended to the prompt after a blank line; "-" alone reads the prompt from stdin.'],
    groups: [
      {
        title: 'Completions',
        options: { echo: { type: 'boolean', description: 'print the prompt before the answer, like the tutorial' } },
      },
      PROMPT,
      REQUEST,
      OUTPUT,
      CONNECTION,
      LOG,
      HELP,
    ],
    examples: [
      'sluice "Once upon a time"',
      'sluice --profile instruct --echo --max-tokens 100 "Write a tagline for an ice cream shop."',
      'sluice --json -n 2 "Once upon a time" | jq -c .',
    ],
  },
  chat: {
    name: 'chat',
    summary: 'Chat Completions: one answer, or a conversation on a terminal',
    usage: ['sluice chat [options] MESSAGE...', 'sluice chat [options]    (interactive, when stdin is a terminal)'],
    notes: [
      'Interactive commands: /reset, /usage, /history, /model NAME, /system TEXT, /save NAME, /load NAME, /help, /exit.',
      'Your inputs are kept across sessions (up arrow), in $XDG_DATA_HOME/sluice/chat_history.',
      'A paste of several lines is one message; """ on a line of its own starts and ends a message typed over several lines.',
      'Ctrl-C stops the answer being written and returns to the prompt; Ctrl-D or /exit leaves.',
      "When the conversation outgrows the model's context, the oldest turns are dropped (one line says so).",
      'Piped stdin is appended to the message: cat notes.txt | sluice chat "summarize this"',
    ],
    groups: [
      {
        title: 'Chat',
        options: {
          system: { type: 'string', short: 's', value: 'TEXT', description: 'system message for the conversation' },
          api: {
            type: 'string',
            value: 'API',
            description: 'chat (Chat Completions, the default) or responses (the Responses API: one MESSAGE)',
          },
          continue: {
            type: 'boolean',
            short: 'c',
            description: 'continue the latest logged conversation (its history is sent)',
          },
          cid: { type: 'string', value: 'ID', description: 'continue the logged conversation ID (see sluice logs)' },
        },
      },
      PROMPT,
      REQUEST,
      OUTPUT,
      CONNECTION,
      LOG,
      HELP,
    ],
    examples: [
      'sluice chat "What is a sluice?"',
      'cat notes.txt | sluice chat "summarize this"',
      'sluice chat --system "You answer in one sentence."',
      'sluice chat -c "And in French?"',
      'sluice chat -s "Answer in haiku." -p topic rain --save haiku "A poem about $topic"',
      'sluice chat -t haiku -p topic snow',
      'sluice chat -a notes.md -a chart.png "What does the chart show?"',
    ],
  },
  logs: {
    name: 'logs',
    summary: 'list and search the log of exchanges; turn logging off or on',
    usage: ['sluice logs [options] [WORDS...]', 'sluice logs off | on | path'],
    notes: [
      'Lists the newest exchanges, the newest last; WORDS (or -q) keeps those containing every word.',
      'off / on: stop or resume logging (saved in the user config file); path: print the database file.',
      'The log is $XDG_DATA_HOME/sluice/logs.db (default ~/.local/share/sluice/logs.db), or SLUICE_LOG_DB.',
    ],
    groups: [
      {
        title: 'Logs',
        options: {
          n: { type: 'string', short: 'n', value: 'N', description: 'how many, the newest (default 3; 0 for all)' },
          query: {
            type: 'string',
            short: 'q',
            value: 'WORDS',
            description: 'full-text search: exchanges containing every word',
          },
          cid: { type: 'string', value: 'ID', description: 'one conversation (all of it, unless -n)' },
          json: { type: 'boolean', description: 'one JSON object per exchange per line (NDJSON)' },
        },
      },
      HELP,
    ],
    examples: [
      'sluice logs',
      'sluice logs -n 10 sluice gate',
      'sluice logs --cid ID --json | jq -r .answer',
      'sluice logs off',
    ],
  },
  models: {
    name: 'models',
    summary: 'list the models the configured endpoint offers (or the local ones)',
    usage: ['sluice models [options]'],
    notes: [
      'OpenAI-compatible servers and the Azure v1 route: GET /models. Azure deployment endpoints: the deployments',
      'list where the resource still offers it. The local model: the embedded one and the .gguf files in',
      '$XDG_DATA_HOME/sluice/models (default ~/.local/share/sluice/models) and beside SLUICE_MODEL.',
    ],
    groups: [
      {
        title: 'Output',
        options: { json: { type: 'boolean', description: 'the list as JSON (one object per line)' } },
      },
      CONNECTION,
      HELP,
    ],
    examples: ['sluice models', 'sluice models --profile instruct', 'sluice models --local'],
  },
  config: {
    name: 'config',
    summary: 'show every effective setting and where it came from (keys masked)',
    usage: ['sluice config [options]'],
    notes: [
      'Precedence: flag > environment > .env > stored keys (sluice keys) > settings file > default.',
      'The settings file is $XDG_CONFIG_HOME/sluice/config.json (default ~/.config/sluice/config.json).',
    ],
    groups: [CONNECTION, HELP],
    examples: ['sluice config', 'sluice config --profile instruct'],
  },
  keys: {
    name: 'keys',
    summary: 'store a key in your config directory (mode 0600), or list the names stored',
    usage: [
      'sluice keys set NAME    (reads the key from the terminal without echo, or from stdin)',
      'sluice keys list',
      "sluice keys hash [--new]    (a gateway client key's key_hash: for the sluice serve --config file)",
    ],
    notes: [
      'NAME is the variable the key stands for: AZURE_OPENAI_API_KEY, OPENAI_API_KEY, AZURE_OPENAI_API_KEY_FOR_<PROFILE>...',
      'A stored key is used when neither the environment nor .env sets that name. Keys are never printed.',
      'hash reads a client key like set does and prints its SHA-256 as key_hash: sha256:...; --new makes a random',
      'key and prints it once, with its hash. Only the hash goes in the gateway file (docs/gateway.md).',
    ],
    groups: [
      { title: 'Client keys', options: { new: { type: 'boolean', description: 'hash: make a new random key' } } },
      HELP,
    ],
    examples: [
      'sluice keys set AZURE_OPENAI_API_KEY',
      'pass show azure | sluice keys set AZURE_OPENAI_API_KEY',
      'sluice keys list',
      'sluice keys hash --new',
      'printf %s "$KEY" | sluice keys hash',
    ],
  },
  usage: {
    name: 'usage',
    summary: "a gateway's usage ledger: requests, tokens and cost per key, model, target and day",
    usage: ['sluice usage [options]'],
    notes: [
      'Reads GET /sluice/v1/usage of a running sluice serve --config gateway with client keys; needs an admin key.',
      'Tokens are shown as reported by the upstream and as counted by the gateway (when no usage was reported).',
    ],
    groups: [
      {
        title: 'Gateway',
        options: {
          url: { type: 'string', value: 'URL', description: 'the gateway (default http://127.0.0.1:8080)' },
          'api-key': { type: 'string', value: 'KEY', description: 'an admin client key (SLUICE_API_KEY)' },
        },
      },
      {
        title: 'Which rows',
        options: {
          from: { type: 'string', value: 'YYYY-MM-DD', description: 'this UTC day or later' },
          to: { type: 'string', value: 'YYYY-MM-DD', description: 'this UTC day or earlier' },
          key: { type: 'string', value: 'NAME', description: "one client key's rows (by name)" },
          model: { type: 'string', value: 'NAME', description: "one model's rows" },
          json: { type: 'boolean', description: 'one JSON object per row per line (NDJSON)' },
        },
      },
      HELP,
    ],
    examples: ['sluice usage --url http://gateway:8080', 'sluice usage --from 2026-11-01 --key team-a --json'],
  },
  serve: {
    name: 'serve',
    summary: 'serve the Azure OpenAI and OpenAI APIs: a gateway to your deployments, or the local model',
    usage: ['sluice serve [options]', 'sluice serve --config sluice.yaml [--check-config]'],
    notes: [
      'What answers: the --config file (SLUICE_CONFIG) if given; else the Azure or OpenAI settings the other',
      'commands use (environment, .env, --profile), fronted for every name; else the embedded local model.',
      'Prints its URL, then serves until Ctrl-C (or SIGTERM), which closes it cleanly (exit 0).',
      'Web pages may call it only from its own origin or from localhost, unless --cors-origin says otherwise.',
    ],
    groups: [
      {
        title: 'What to serve',
        options: {
          config: {
            type: 'string',
            value: 'FILE',
            description: 'gateway configuration (SLUICE_CONFIG): names, their targets, routing; see docs/gateway.md',
          },
          'check-config': {
            type: 'boolean',
            description: 'validate the configuration, print its names and targets (keys masked) and exit',
          },
          profile: CONNECTION.options.profile as OptionDef,
          endpoint: CONNECTION.options.endpoint as OptionDef,
          deployment: CONNECTION.options.deployment as OptionDef,
          'api-version': CONNECTION.options['api-version'] as OptionDef,
          'base-url': CONNECTION.options['base-url'] as OptionDef,
          local: { type: 'boolean', description: 'serve the local model even when Azure/OpenAI is configured' },
        },
      },
      {
        title: 'Server',
        options: {
          port: { type: 'string', value: 'N', description: 'TCP port, 0 for any free one (default 8080)' },
          host: { type: 'string', value: 'HOST', description: 'interface to listen on (default 127.0.0.1)' },
          'api-key': {
            type: 'string',
            value: 'KEY',
            description: 'require this key (api-key or Bearer) on every request (SLUICE_API_KEY)',
          },
          model: {
            type: 'string',
            value: 'PATH',
            description: 'GGUF model file (SLUICE_MODEL), default the embedded one',
          },
          threads: { type: 'string', value: 'N', description: 'CPU threads for the model (SLUICE_THREADS), default 1' },
          'context-size': {
            type: 'string',
            value: 'N',
            description: "tokens per request (prompt + answer), default the model's training context up to 2048",
          },
          parallel: { type: 'string', value: 'N', description: 'requests generated at once, default 4' },
          queue: {
            type: 'string',
            value: 'N',
            description: 'requests that may wait for a slot (then 429), default 16',
          },
          'cors-origin': {
            type: 'string',
            multiple: true,
            value: 'ORIGIN',
            description: 'let web pages on ORIGIN call the API (repeat the flag; * for any)',
          },
          'log-format': {
            type: 'string',
            value: 'FORMAT',
            description: 'text (default) or json: one JSON line per request and per upstream attempt',
          },
        },
      },
      HELP,
    ],
    examples: [
      'sluice serve --port 8080',
      'sluice serve --host 0.0.0.0 --api-key "$SLUICE_API_KEY"',
      'sluice serve --parallel 2 --queue 8 --context-size 1024',
      'sluice serve --cors-origin https://app.example',
      'sluice serve --profile instruct',
      'sluice serve --config sluice.yaml --check-config',
    ],
  },
};

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  values: ParsedValues;
  positionals: string[];
}

/**
 * Parses one command's arguments strictly. Unknown flags and missing values become a
 * UsageError that names the flag and points at the command's `--help`.
 * @example
 * parseCommandArgs(COMMANDS.chat, ['--temperature', '0.2', 'hi']).values.temperature // '0.2'
 */
export function parseCommandArgs(def: CommandDef, argv: string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const group of def.groups) {
    for (const [name, o] of Object.entries(group.options)) {
      options[name] = {
        type: o.type,
        ...(o.short ? { short: o.short } : {}),
        ...(o.multiple ? { multiple: true } : {}),
      };
    }
  }
  const args = Object.hasOwn(options, 'param') ? joinParamPairs(argv) : argv;
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as ParsedValues, positionals };
  } catch (error) {
    throw new UsageError(cleanParseMessage(error, def), { command: def.name });
  }
}

/** Flags in the order of their groups, for docs and tests. */
export function allOptionNames(def: CommandDef): string[] {
  return def.groups.flatMap((g) => Object.keys(g.options));
}

// --- internal ---

/**
 * parseArgs messages are good but multi-line; keep the first sentence and our hint style.
 * An unknown flag gets the nearest flag of this command ("did you mean"), or the command it
 * belongs to.
 */
function cleanParseMessage(error: unknown, def: CommandDef): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split('\n')[0] ?? message;
  if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'(--?[^'=\s]+)/.exec(first)?.[1] ?? '';
    return unknownOptionMessage(flag, def);
  }
  if (/argument is ambiguous/.test(message)) {
    const flag = /'(--?[\w-]+)'/.exec(message)?.[1] ?? 'the option';
    return `${flag} needs a value; for a value starting with "-" write ${flag}=VALUE`;
  }
  return first;
}

/** The nearest flag of `def`, or the command that has this flag, or the way to pass a prompt. */
function unknownOptionMessage(flag: string, def: CommandDef): string {
  const label = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);
  if (flag.startsWith('--')) {
    const near = closest(flag, allOptionNames(def).map(label), flagSlack(flag));
    if (near !== undefined) return `Unknown option ${flag}; did you mean ${near}?`;
    const owner = Object.values(COMMANDS).find((c) => c !== def && allOptionNames(c).map(label).includes(flag));
    if (owner !== undefined) return `${flag} is an option of "sluice ${owner.name}", not of "sluice ${def.name}"`;
  }
  return `Unknown option ${flag || '(empty)'} (a prompt starting with "-" goes after "--")`;
}
