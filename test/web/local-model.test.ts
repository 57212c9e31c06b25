/**
 * The page on the embedded model (node-llama-cpp, the tiny stories model): the same server a
 * user gets from `sluice serve`, a real generation end to end, in both modes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalBackend, type LocalBackend } from '../../src/backends/index.js';
import { type Browsing, launch, metric, screenshot, startWebServer, until, type WebServer } from '../support/web.js';

let local: LocalBackend;
let web: WebServer;
let browsing: Browsing;

before(async () => {
  local = createLocalBackend();
  web = await startWebServer({ backend: local });
  browsing = await launch();
});
after(async () => {
  await browsing?.close();
  await web?.close();
  await local?.close();
});

describe('the page on the embedded model', () => {
  test('completion mode: the model continues "Once upon a time", with figures', async () => {
    const p = await browsing.open(web.url);
    await p.page.getByRole('tab', { name: 'Completion' }).click();
    await p.page.getByLabel('Prompt').fill('Once upon a time');
    await p.page.getByRole('button', { name: 'Generate' }).click();
    const meta = p.page.locator('#completion-meta .figures');
    await meta.waitFor({ timeout: 30_000 });
    const generated = (await p.page.locator('#completion-generated').textContent()) ?? '';
    assert.ok(generated.trim().split(/\s+/).length >= 5, `several words generated: ${JSON.stringify(generated)}`);
    assert.match(generated, /[a-z]/i);
    const figures = (await meta.textContent()) ?? '';
    assert.match(figures, /first token \d/);
    assert.match(figures, /\d+ tokens/, 'exact count from the usage chunk');
    assert.match(figures, /finish: (stop|length)/);
    assert.ok((await metric(web.url, 'sluice_completion_tokens_total')) > 0, 'the server counted real tokens');
    await screenshot(p.page, 'local-model-completion');
    assert.deepEqual(p.problems, []);
  });

  test('chat mode: a story streams into the page and is kept after a reload', async () => {
    const p = await browsing.open(web.url);
    await p.page.locator('#prompt').fill('Tell me a story about a cat.');
    await p.page.locator('#prompt').press('Enter');
    const answer = p.page.locator('article.msg.assistant').last();
    await answer.locator('.meta .figures').waitFor({ timeout: 30_000 });
    const text = ((await answer.locator('.msg-body').textContent()) ?? '').trim();
    assert.ok(text.length > 10, `an answer: ${JSON.stringify(text)}`);
    // The server states the model's context size: the meter shows the fill from the first answer.
    const meter = ((await p.page.locator('#context-meter').textContent()) ?? '').replace(/\s+/g, ' ').trim();
    assert.match(meter, /^Context \d+ \/ \d+ tokens$/);
    await screenshot(p.page, 'local-model-chat');
    await p.page.reload();
    await p.page.locator('article.msg.assistant').waitFor();
    await until(
      async () => ((await p.page.locator('article.msg.assistant .msg-body').textContent()) ?? '').trim() === text,
      'the same answer after reload',
    );
    assert.deepEqual(p.problems, []);
  });
});
