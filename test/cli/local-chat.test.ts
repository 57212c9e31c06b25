/**
 * The interactive chat on the embedded model (512-token context), in a pseudo-terminal: a
 * conversation longer than the context keeps going, the oldest turns dropped with a note.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertBuilt, cleanEnv, type Running, startInTerminal } from '../support/cli.js';

before(() => assertBuilt());

/** Text without escape sequences and with the terminal's CRLF as LF. */
function visible(s: string): string {
  return s.replace(/\u001b\[[\d;?]*[A-Za-z]/g, '').replace(/\r\n/g, '\n');
}

/** Types `line` and waits for the next prompt (the answer, or its failure, is over). */
async function ask(cli: Running, line: string): Promise<string> {
  const prompts = () => (cli.stdout.match(/›/g) ?? []).length;
  const before = prompts();
  const from = cli.stdout.length;
  cli.write(`${line}\r`);
  await cli.waitFor(new RegExp(`^(?:[^›]*›){${before + 1}}`), 'stdout', 60_000);
  return visible(cli.stdout.slice(from));
}

describe('the interactive chat on the embedded model', { timeout: 180_000 }, () => {
  it('outlives its context: six turns all answered; the dropped turns are named on stderr', async () => {
    // A model path from the environment lets a checkout whose default path differs run it.
    const model: Record<string, string> = process.env.SLUICE_MODEL ? { SLUICE_MODEL: process.env.SLUICE_MODEL } : {};
    // Greedy and long answers: the 512-token context is full by the fourth turn.
    const cli = startInTerminal(
      ['chat', '--local', '--temperature', '0', '--max-tokens', '200', '--system', 'You tell stories.'],
      { env: cleanEnv({ TERM: 'xterm-256color', ...model }) },
    );
    await cli.waitFor(/help for commands[\s\S]*›/, 'stdout', 60_000);
    const questions = [
      'Tell me a story about a cat.',
      'And then what happened?',
      'What did the dog say?',
      'How did it end?',
      'Tell me another one.',
      'And then?',
    ];
    const turns: string[] = [];
    for (const q of questions) turns.push(await ask(cli, q));
    cli.write('\u0004');
    const done = await cli.done;
    assert.equal(done.code, 0, visible(done.stdout));
    const screen = visible(done.stdout);
    assert.ok(!/sluice: (the request was rejected|the message does not fit)/.test(screen), screen);
    for (const [i, t] of turns.entries()) {
      const answer = t.replace(/^.*\n/, '').replace(/sluice: the conversation no longer fit.*\n/, '');
      assert.match(answer, /\w+ \w+/, `turn ${i + 1} got an answer: ${JSON.stringify(t)}`);
    }
    const notes = screen.match(
      /sluice: the conversation no longer fit the model's context: dropped the \d+ oldest turns? \(the system message and your latest message stay\)\./g,
    );
    assert.ok(notes && notes.length >= 1, screen);
  });
});
