/**
 * The interactive chat: node:readline for line editing and input history, the conversation
 * kept across turns, slash commands. Each question gets its own readline interface, closed
 * while the answer streams. Meanwhile the terminal stays in raw mode and keys are read
 * here: Ctrl-C stops that answer (kept in the history, marked interrupted) and returns to
 * the prompt; other keys are typed ahead into the next prompt instead of being echoed into
 * the answer.
 * @module
 */
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Usage } from '../../types.js';
import { closest } from '../../util/near-miss.js';
import type { ParsedValues } from '../args.js';
import { SESSION_COMMANDS, sessionCommand } from '../chat-commands.js';
import type { Turn } from '../conversation.js';
import type { Engine } from '../engine.js';
import { ExitCode } from '../exit-codes.js';
import { listenForInterrupt } from '../interrupt.js';
import type { CliIO, CliOutput } from '../io.js';
import type { ExchangeLog } from '../log/exchange-log.js';
import { sgr } from '../render/style.js';
import { loadInputHistory, saveInputHistory } from '../user/input-history.js';
import { answerTurns } from './converse.js';
import type { Setup } from './shared.js';

export interface ReplOptions {
  io: CliIO;
  setup: Setup;
  engine: Engine;
  system?: string;
  /** Where each turn is saved as it ends. */
  log?: ExchangeLog;
  /** The conversation so far (`--continue`), oldest first. */
  history?: Turn[];
  /** The command's flags: `/model` resolves the settings again with another model. */
  values?: ParsedValues;
}

const SLASH_COMMANDS = ['/reset', '/usage', '/history', '/help', '/exit', '/quit', ...SESSION_COMMANDS.map(([c]) => c)];

export const REPL_HELP = [
  '"""       on a line of its own: start a multi-line message; another """ sends it',
  '/reset    forget the conversation (the --system message stays)',
  '/usage    tokens used by the last answer and the whole session',
  '/history  the conversation so far',
  ...SESSION_COMMANDS.map(([, help]) => help),
  '/help     this list',
  '/exit     leave (also Ctrl-D)',
  'Pasted lines are one message, sent when the paste ends with a line break (else at Enter).',
  'Ctrl-C stops an answer and keeps what arrived; at an empty prompt, press it twice to leave.',
];

/**
 * @example
 * return await runRepl({ io, setup, engine, system: 'Be brief.' });
 */
export async function runRepl(options: ReplOptions): Promise<number> {
  const { io, log, history } = options;
  // /model and /system change these for the questions after them.
  let { setup: s, engine, system } = options;
  // Prompts and notes go to the terminal even when answers are redirected.
  const ui: CliOutput = io.stdout.isTTY ? io.stdout : io.stderr;
  const color = s.output.mode !== 'raw';
  const say = (text: string) => ui.write(`${color ? sgr.dim(text) : text}\n`);
  const turns: Turn[] = [...(history ?? [])];
  // Your inputs of earlier sessions, for the up arrow; saved after each.
  const lines: string[] = loadInputHistory(io.env);
  let last: Usage | undefined;
  const total = { prompt: 0, completion: 0, answers: 0 };
  let ctrlC = 0;

  // Raw mode for the whole session (readline sets it too, and unsets it on close): a key
  // typed at any moment is read as a key, never turned into a signal or an echo by the
  // terminal. Restored on the way out.
  io.stdin.setRawMode?.(true);
  // Load the local model while the user types (a failure shows on the first question).
  engine.warm?.().catch(() => {});
  try {
    say(`sluice chat: ${targetLabel(s)}. /help for commands, Ctrl-D to leave.`);
    if (history?.length) say(`Continuing conversation ${log?.conversationId ?? ''} (${history.length} turns).`);
    return await converse();
  } finally {
    io.stdin.setRawMode?.(false);
    // An engine /model opened is ours to close; the first is the caller's.
    if (engine !== options.engine) await engine.close();
  }

  async function converse(): Promise<number> {
    for (;;) {
      const input = await ask(
        io,
        ui,
        { first: color ? `${sgr.bold(sgr.green('›'))} ` : '> ', more: color ? `${sgr.dim('…')} ` : '. ' },
        lines,
      );
      saveInputHistory(io.env, lines);
      if ('eof' in input) {
        ui.write('\n');
        return ExitCode.OK;
      }
      if ('interrupt' in input) {
        if (input.hadText) {
          ctrlC = 0;
          continue;
        }
        if (++ctrlC >= 2) return ExitCode.OK;
        say('(press Ctrl-C again, or Ctrl-D, or type /exit to leave)');
        continue;
      }
      ctrlC = 0;
      const line = input.line.trim();
      if (line === '') continue;
      // Only a message of one line can be a command: a pasted text may start with "/".
      if (line.startsWith('/') && !line.includes('\n')) {
        const [command] = line.split(/\s+/);
        switch (command) {
          case '/exit':
          case '/quit':
            return ExitCode.OK;
          case '/help':
            for (const h of REPL_HELP) say(h);
            break;
          case '/reset':
            turns.length = 0;
            log?.newConversation();
            say(
              system === undefined ? 'Conversation forgotten.' : 'Conversation forgotten (the system message stays).',
            );
            break;
          case '/usage':
            say(
              last
                ? `last answer: ${last.prompt_tokens} prompt + ${last.completion_tokens} completion = ${last.total_tokens} tokens`
                : 'last answer: usage not reported',
            );
            say(
              `this session: ${total.prompt} prompt + ${total.completion} completion = ${total.prompt + total.completion} tokens over ${total.answers} answer(s)`,
            );
            break;
          case '/history':
            if (turns.length === 0) say('(empty)');
            for (const t of turns) {
              const text = t.content.replace(/\s+/g, ' ');
              say(
                `${t.role === 'user' ? 'you' : 'assistant'}: ${text.length > 100 ? `${text.slice(0, 99)}…` : text}${t.interrupted ? ' [interrupted]' : ''}`,
              );
            }
            break;
          default: {
            const next = await sessionCommand(
              line,
              { setup: s, engine, system },
              { io, values: options.values ?? {}, say },
            );
            if (next !== undefined) {
              if (next.engine !== engine && engine !== options.engine) await engine.close();
              ({ setup: s, engine, system } = next);
              break;
            }
            const meant = closest(command ?? '', SLASH_COMMANDS, 2);
            say(`Unknown command ${command}${meant ? `; did you mean ${meant}?` : ';'} /help lists them.`);
          }
        }
        continue;
      }

      turns.push({ role: 'user', content: input.line });
      const interrupt = listenForInterrupt(io);
      const keys = captureKeys(io, interrupt.trigger);
      try {
        // A conversation never ends because it grew (converse.ts drops the oldest turns).
        const question = input.line;
        const outcome = await answerTurns({ io, engine, setup: s, signal: interrupt.signal }, system, turns, {
          describe: { ...s.describe, interactive: true },
          // Saved as it ends, a partial answer too: a crash loses at most the turn in flight.
          ...(log
            ? { record: (facts, text) => log.record({ kind: 'chat', prompt: question, system }, facts, text) }
            : {}),
        });
        if (outcome.text !== '') {
          turns.push({
            role: 'assistant',
            content: outcome.text,
            ...(outcome.end.state === 'completed' ? {} : { interrupted: true }),
          });
        } else if (outcome.end.state !== 'completed') {
          // Nothing arrived: forget the question so the conversation stays well-formed.
          turns.pop();
        }
        if (outcome.usage) {
          last = outcome.usage;
          total.prompt += outcome.usage.prompt_tokens;
          total.completion += outcome.usage.completion_tokens;
        } else last = undefined;
        total.answers++;
        // How full the model's context is, when its size is known (the local model).
        const size = engine.contextTokens?.();
        if (size !== undefined && outcome.usage) say(`context: ${outcome.usage.total_tokens}/${size} tokens`);
      } finally {
        keys.stop();
        interrupt.dispose();
      }
    }
  }
}

// --- internal ---

type Asked = { line: string } | { eof: true } | { interrupt: true; hadText: boolean };

/** Lines closer together than this are one paste, not several presses of Enter. */
const PASTE_WINDOW_MS = 15;
/** A line of its own that starts and ends a multi-line message. */
const FENCE = '"""';
// Bracketed paste (xterm and most terminals): pasted text arrives between ESC[200~ and
// ESC[201~, which readline reports as paste-start / paste-end keys. Others ignore these.
const BRACKETED_PASTE_ON = '\u001b[?2004h';
const BRACKETED_PASTE_OFF = '\u001b[?2004l';

interface Prompts {
  first: string;
  /** For the lines after the first of a multi-line message. */
  more: string;
}

/**
 * One message on a fresh readline interface (closed again before the answer streams). A
 * message is one line; or a paste of several (bracketed, or lines arriving within
 * PASTE_WINDOW_MS), sent once its last line is complete; or the lines between two `"""`.
 */
function ask(io: CliIO, ui: CliOutput, prompts: Prompts, history: string[]): Promise<Asked> {
  const rl = createInterface({
    input: io.stdin,
    output: ui as NodeJS.WritableStream,
    terminal: true,
    history: [...history],
    historySize: 1000,
    removeHistoryDuplicates: true,
  });
  return new Promise((resolve) => {
    let done = false;
    const lines: string[] = [];
    let fenced = false;
    let pasting = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: Asked) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      io.stdin.off('keypress', onKey);
      if (ui.isTTY) ui.write(BRACKETED_PASTE_OFF);
      rl.close();
      // readline leaves raw mode on close; the session keeps it (see runRepl).
      io.stdin.setRawMode?.(true);
      resolve(result);
    };
    /** Shows the continuation prompt (again, with the line being edited). */
    const more = () => {
      rl.setPrompt(prompts.more);
      rl.prompt(true);
    };
    /** Sends the message unless more of it is on its way or still being typed. */
    const sendIfComplete = () => {
      timer = undefined;
      if (pasting || fenced || lines.length === 0 || rl.line.length > 0) return;
      // The continuation prompt shown in case more lines came: not part of the transcript.
      if (ui.isTTY) ui.write('\r\u001b[K');
      finish({ line: lines.join('\n') });
    };
    const onKey = (_text: string | undefined, key: { name?: string } | undefined) => {
      if (key?.name === 'paste-start') {
        pasting = true;
        clearTimeout(timer);
      } else if (key?.name === 'paste-end') {
        pasting = false;
        clearTimeout(timer);
        timer = setTimeout(sendIfComplete, 0);
      }
    };
    io.stdin.on('keypress', onKey);
    rl.on('history', (h: string[]) => {
      history.splice(0, history.length, ...h);
    });
    rl.on('line', (line) => {
      if (!fenced && !pasting && lines.length === 0 && line.trim() === FENCE) {
        fenced = true;
      } else if (fenced && line.trim() === FENCE) {
        finish({ line: lines.join('\n') });
        return;
      } else {
        lines.push(line);
      }
      more();
      clearTimeout(timer);
      if (!fenced && !pasting) timer = setTimeout(sendIfComplete, PASTE_WINDOW_MS);
    });
    rl.on('SIGINT', () => {
      const hadText = rl.line.length > 0 || lines.length > 0 || fenced;
      ui.write('^C\n');
      finish({ interrupt: true, hadText });
    });
    // Ctrl-D on an empty line: leave, or send the lines of a message begun.
    rl.on('close', () => finish(lines.length > 0 ? { line: lines.join('\n') } : { eof: true }));
    if (ui.isTTY) ui.write(BRACKETED_PASTE_ON);
    rl.setPrompt(prompts.first);
    rl.prompt();
  });
}

/**
 * Reads keys while an answer streams: Ctrl-C interrupts; anything else (Ctrl-D included) is
 * given back to stdin, typed ahead into the next prompt.
 */
function captureKeys(io: CliIO, onCtrlC: () => void): { stop(): void } {
  const stdin = io.stdin;
  if (!stdin.isTTY || !stdin.setRawMode) return { stop() {} };
  const typed: number[] = [];
  const onData = (data: Buffer | string) => {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (const b of bytes) {
      if (b === 0x03) onCtrlC();
      else typed.push(b);
    }
  };
  stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  return {
    stop() {
      stdin.off('data', onData);
      stdin.pause();
      // Raw mode stays on: the next prompt's readline takes over at once.
      if (typed.length > 0) stdin.unshift(Buffer.from(typed));
    },
  };
}

function targetLabel(s: Setup): string {
  const t = s.config.target;
  if (t.kind === 'azure') return `Azure OpenAI ${t.endpoint}, deployment ${t.deployment}`;
  if (t.kind === 'openai') return `${t.baseURL}, model ${t.model}`;
  return `local model ${t.modelPath ? basename(t.modelPath) : '(embedded)'}`;
}
