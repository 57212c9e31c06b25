/**
 * The real binary in a pseudo-terminal (what a user sees) versus a pipe (exact bytes), and
 * the interactive chat driven by keystrokes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AzureServer,
  chatChunks,
  type RecordedRequest,
  startAzureServer,
  stream,
} from '../../src/testing/azure-server.js';
import { assertBuilt, cleanEnv, run, startInTerminal } from '../support/cli.js';

const MARKDOWN = ['# Ti', 'tle\nSome **bo', 'ld** text and `code`\n```js\nconst x = 1; // c\n```\n- item\n'];
const TABLE = ['Fruit:\n| Name | Qty |\n|---', '|--:|\n| Apple | 3 |\n| Kiwi', ' | 12 |\nDone.\n'];
const USAGE = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };
const SGR = /\u001b\[[\d;]*m/;

let server: AzureServer;

before(async () => {
  assertBuilt();
  server = await startAzureServer({
    scenarios: {
      md: stream(chatChunks(MARKDOWN)),
      table: stream(chatChunks(TABLE)),
      slow: stream([{ delay: 600 }, ...chatChunks(['Late'])]),
      hostile: stream(chatChunks(['safe\u001b]0;pwned\u0007 \u001b[2Jtext\r'])),
      // The conversation: each answer names the question; "stop me" never finishes.
      talk: (req: RecordedRequest) => {
        const messages = (req.body?.messages ?? []) as Array<{ content: string }>;
        const question = messages.at(-1)?.content ?? '';
        if (question === 'stop me') {
          return stream([
            ...chatChunks(['Partial', ' answer'], { done: false, finishReason: null }),
            { wait: 'never' },
          ]);
        }
        return stream(chatChunks([`Answer to ${question}.`], { usage: USAGE }));
      },
    },
  });
});
after(() => server.close());

function env(deployment: string, extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({ AZURE_OPENAI_ENDPOINT: server.url, AZURE_OPENAI_DEPLOYMENT: deployment, ...extra });
}

/** Text without escape sequences and with the terminal's CRLF as LF. */
function visible(s: string): string {
  return s.replace(/\u001b\[[\d;?]*[A-Za-z]/g, '').replace(/\r\n/g, '\n');
}

describe('a terminal versus a pipe', { timeout: 60_000 }, () => {
  it('a terminal gets Markdown rendered; a pipe gets the exact bytes', async () => {
    const tty = await startInTerminal(['chat', 'hi'], { env: env('md', { TERM: 'xterm-256color' }) }).done;
    assert.equal(tty.code, 0, tty.stdout);
    assert.ok(tty.stdout.includes('\u001b[1mbold\u001b[22m'), JSON.stringify(tty.stdout));
    assert.ok(tty.stdout.includes('\u001b[36mcode\u001b[39m'), 'inline code');
    assert.ok(tty.stdout.includes('\u001b[35mconst\u001b[39m'), 'a highlighted keyword in the code block');
    assert.match(tty.stdout, /\u001b\[1;4;35mTitle\u001b\[0m/, 'the heading, without its #');
    assert.ok(visible(tty.stdout).includes('• item'), 'a bullet for the list item');

    const piped = await run(['chat', 'hi'], { env: env('md') });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, MARKDOWN.join(''));
  });

  it('a terminal gets a Markdown table aligned; a pipe gets the pipes as written', async () => {
    const tty = await startInTerminal(['chat', 'hi'], { env: env('table', { TERM: 'xterm-256color' }) }).done;
    assert.equal(tty.code, 0, tty.stdout);
    // What the screen ends up showing: the rows were rewritten in place once the table ended.
    const rewritten = visible(tty.stdout.slice(tty.stdout.lastIndexOf('\r\u001b[J') + 4));
    assert.deepEqual(rewritten.split('\n').slice(0, 5), [
      'Name  │ Qty',
      '──────┼────',
      'Apple │   3',
      'Kiwi  │  12',
      'Done.',
    ]);
    const piped = await run(['chat', 'hi'], { env: env('table') });
    assert.equal(piped.stdout, TABLE.join(''));
  });

  it('NO_COLOR and --raw: no styling on the terminal', async () => {
    for (const [args, extra] of [
      [['chat', 'hi'], { NO_COLOR: '1' }],
      [['chat', '--raw', 'hi'], {}],
    ] as const) {
      const tty = await startInTerminal([...args], { env: env('md', { TERM: 'xterm-256color', ...extra }) }).done;
      assert.equal(tty.code, 0, tty.stdout);
      assert.ok(!SGR.test(tty.stdout), `no SGR with ${JSON.stringify(args)} ${JSON.stringify(extra)}`);
      assert.ok(visible(tty.stdout).includes('Some **bold** text'), 'the Markdown as written');
    }
  });

  it('a spinner on the terminal while waiting, erased before the text', async () => {
    const tty = await startInTerminal(['chat', 'hi'], { env: env('slow', { TERM: 'xterm-256color' }) }).done;
    assert.equal(tty.code, 0, tty.stdout);
    const spin = tty.stdout.indexOf('waiting for the first token');
    const text = tty.stdout.indexOf('Late');
    assert.ok(spin >= 0 && text > spin, JSON.stringify(tty.stdout));
    assert.ok(tty.stdout.slice(spin, text).includes('\u001b[K'), 'erased before the text');
    assert.equal(visible(tty.stdout.slice(text)).trim(), 'Late');

    const piped = await run(['chat', 'hi'], { env: env('slow') });
    assert.equal(piped.stderr, '', 'no spinner when stderr is not a terminal');
  });

  it("the model's control characters never reach the terminal (but a pipe gets them verbatim)", async () => {
    const tty = await startInTerminal(['chat', 'hi'], { env: env('hostile', { TERM: 'xterm-256color' }) }).done;
    assert.ok(!tty.stdout.includes('\u001b]0;') && !tty.stdout.includes('\u0007') && !tty.stdout.includes('\u001b[2J'));
    assert.ok(tty.stdout.includes('safe]0;pwned [2Jtext'));
    const piped = await run(['chat', 'hi'], { env: env('hostile') });
    assert.equal(piped.stdout, 'safe\u001b]0;pwned\u0007 \u001b[2Jtext\r');
  });
});

describe('the interactive chat', { timeout: 60_000 }, () => {
  it('keeps the conversation, answers /usage, /history, /reset, and leaves on Ctrl-D', async () => {
    const from = server.requests.length;
    const cli = startInTerminal(['chat', '--system', 'Be brief.'], { env: env('talk', { TERM: 'xterm-256color' }) });
    await cli.waitFor('/help for commands');
    cli.write('hello\r');
    await cli.waitFor('Answer to hello.');
    cli.write('and then\r');
    await cli.waitFor('Answer to and then.');
    assert.deepEqual(server.requests[from + 1]?.body?.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Answer to hello.' },
      { role: 'user', content: 'and then' },
    ]);
    cli.write('/usage\r');
    await cli.waitFor('this session: 22 prompt + 8 completion = 30 tokens over 2 answer(s)');
    assert.ok(cli.stdout.includes('last answer: 11 prompt + 4 completion = 15 tokens'));
    cli.write('/history\r');
    await cli.waitFor('assistant: Answer to and then.');
    cli.write('/rest\r');
    await cli.waitFor('Unknown command /rest; did you mean /reset? /help lists them.');
    cli.write('/reset\r');
    await cli.waitFor('Conversation forgotten');
    cli.write('fresh\r');
    await cli.waitFor('Answer to fresh.');
    assert.deepEqual(server.requests[from + 2]?.body?.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'fresh' },
    ]);
    cli.write('\u0004'); // Ctrl-D
    const done = await cli.done;
    assert.equal(done.code, 0);
    assert.equal(server.requests.length - from, 3, 'slash commands send nothing');
  });

  it('Ctrl-C stops an answer (the request is cancelled), keeps it marked interrupted, and returns to the prompt', async () => {
    const from = server.requests.length;
    const cli = startInTerminal(['chat'], { env: env('talk', { TERM: 'xterm-256color' }) });
    await cli.waitFor('/help for commands');
    cli.write('stop me\r');
    await cli.waitFor('Partial answer');
    const request = server.requests[from];
    assert.ok(request && !request.clientLeft);
    cli.write('\u0003'); // Ctrl-C, delivered by the terminal as SIGINT
    await request.disconnected;
    await cli.waitFor('interrupted; what arrived was kept');
    cli.write('/history\r');
    await cli.waitFor('assistant: Partial answer [interrupted]');
    cli.write('next\r');
    await cli.waitFor('Answer to next.');
    assert.deepEqual(server.requests[from + 1]?.body?.messages, [
      { role: 'user', content: 'stop me' },
      { role: 'assistant', content: 'Partial answer' },
      { role: 'user', content: 'next' },
    ]);
    cli.write('/exit\r');
    const done = await cli.done;
    assert.equal(done.code, 0);
  });

  it('a paste of several lines is one message: bracketed, or lines arriving at once', async (t) => {
    const from = server.requests.length;
    const cli = startInTerminal(['chat'], { env: env('talk', { TERM: 'xterm-256color' }) });
    t.after(() => cli.child.kill('SIGKILL'));
    await cli.waitFor('/help for commands');
    await cli.waitFor('\u001b[?2004h'); // the terminal is asked for bracketed paste
    // Bracketed, its last line unfinished: sent at the next Enter.
    cli.write('\u001b[200~first line\rsecond line\rthird\u001b[201~');
    await cli.waitFor(/…[^\n]*third/);
    cli.write(' and more\r');
    await cli.waitFor(/Answer to first line\r\nsecond line\r\nthird and more\./);
    // Unbracketed (a terminal without the mode): the lines arrive together, ending in Enter.
    cli.write('one\rtwo\rthree\r');
    await cli.waitFor(/Answer to one\r\ntwo\r\nthree\./);
    cli.write('/exit\r');
    assert.equal((await cli.done).code, 0);
    const asked = server.requests
      .slice(from)
      .map((r) => ((r.body?.messages ?? []) as Array<{ content: string }>).at(-1)?.content);
    assert.deepEqual(asked, ['first line\nsecond line\nthird and more', 'one\ntwo\nthree']);
  });

  it('""" starts and ends a multi-line message typed line by line', async (t) => {
    const from = server.requests.length;
    const cli = startInTerminal(['chat'], { env: env('talk', { TERM: 'xterm-256color' }) });
    t.after(() => cli.child.kill('SIGKILL'));
    await cli.waitFor('/help for commands');
    cli.write('/help\r');
    await cli.waitFor('start a multi-line message');
    const continuations = () => (cli.stdout.match(/…/g) ?? []).length;
    for (const line of ['"""', 'line a', '', 'line c']) {
      const before = continuations();
      cli.write(`${line}\r`);
      await cli.waitFor(new RegExp(`^(?:[^…]*…){${before + 1}}`));
    }
    cli.write('"""\r');
    await cli.waitFor(/Answer to line a\r\n\r\nline c\./);
    cli.write('/exit\r');
    assert.equal((await cli.done).code, 0);
    const asked = server.requests.slice(from);
    assert.equal(asked.length, 1, 'one request for the whole message');
    assert.deepEqual(asked[0]?.body?.messages, [{ role: 'user', content: 'line a\n\nline c' }]);
  });

  it('Ctrl-C twice at an empty prompt leaves', async () => {
    const cli = startInTerminal(['chat'], { env: env('talk', { TERM: 'xterm-256color' }) });
    await cli.waitFor('/help for commands');
    cli.write('\u0003');
    await cli.waitFor('press Ctrl-C again');
    cli.write('\u0003');
    const done = await cli.done;
    assert.equal(done.code, 0);
  });
});
