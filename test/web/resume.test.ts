/**
 * The chat page on a server with resumable streams (in-memory log): a reload mid-answer
 * picks the answer up where it was (the stream id and last event id are kept with the
 * conversation) and shows it whole, the server never stopping; Stop on a resumable answer
 * stops the generation at once (an explicit stop, not a hang-up the server would wait out).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { createMemoryStreamLog } from '../../src/streams/memory.js';
import {
  type Browsing,
  gatedBackend,
  launch,
  type OpenPage,
  startWebServer,
  switchBackend,
  until,
  type WebServer,
} from '../support/web.js';

const backend = switchBackend(createScriptedBackend(textScript('chat', 'Hello.')));
const log = createMemoryStreamLog();
let web: WebServer;
let browsing: Browsing;

before(async () => {
  web = await startWebServer({ backend, streams: { log, keepGoingMs: 30_000 } });
  browsing = await launch();
});
after(async () => {
  await browsing?.close();
  await web?.close();
  await log.close();
});

async function sendMessage(p: OpenPage, text: string): Promise<void> {
  await p.page.locator('#prompt').fill(text);
  await p.page.locator('#prompt').press('Enter');
}

const lastAnswer = (p: OpenPage) => p.page.locator('article.msg.assistant').last();

describe('chat page with resumable streams', () => {
  test('a reload mid-answer resumes it: the whole answer, no interruption, the server never stopped', async () => {
    const gated = gatedBackend(['Kept', ' across', ' the reload', ' and finished']);
    backend.use(gated);
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Go on');
    const body = () => lastAnswer(p).locator('.msg-body');
    await until(async () => ((await body().textContent()) ?? '').includes('Kept'), 'the first piece');
    gated.release();
    await until(async () => ((await body().textContent()) ?? '').includes('across'), 'the second piece');
    await p.page.reload();
    gated.release();
    gated.release();
    gated.release();
    await until(
      async () => ((await body().textContent()) ?? '').trim() === 'Kept across the reload and finished',
      'the whole answer after the reload',
    );
    await until(() => gated.finished, 'the generation to finish');
    assert.equal(gated.aborts, 0, 'the server never stopped generating');
    assert.equal(await lastAnswer(p).locator('.notice').count(), 0, 'no interrupted notice');
    assert.ok(
      p.requests.some((u) => u.includes('/sluice/v1/streams/')),
      'the page asked for the rest of the stream',
    );
    assert.deepEqual(p.problems, []);
  });

  test('Stop on a resumable answer stops the generation at once', async () => {
    const gated = gatedBackend(['Started', ' and then']);
    backend.use(gated);
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Go');
    const body = lastAnswer(p).locator('.msg-body');
    await until(async () => ((await body.textContent()) ?? '').includes('Started'), 'the first piece');
    await p.page.keyboard.press('Escape');
    await until(() => gated.aborted, 'the server to stop the generation (not wait 30 s for a reader)');
    await lastAnswer(p).locator('.badge-stopped').waitFor();
    assert.deepEqual(p.problems, []);
  });
});
