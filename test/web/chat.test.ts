/**
 * The chat page end to end: the real Sluice server (scripted backends) serving the built page
 * to headless Chromium. Each test scripts its backend, drives the page like a user (keyboard
 * and clicks), and checks what the user sees and what the server did.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createScriptedBackend, textScript } from '../../src/backends/index.js';
import { BadRequestError, ContentFilterError, OverloadedError, ServerError } from '../../src/errors.js';
import { createStaticHandler } from '../../src/web/serve-static.js';
import {
  type Browsing,
  builtPage,
  chatChunk,
  gatedBackend,
  HOSTILE_STREAM,
  launch,
  metric,
  type OpenPage,
  screenshot,
  startWebServer,
  switchBackend,
  toolCallScript,
  until,
  type WebServer,
} from '../support/web.js';

const backend = switchBackend(createScriptedBackend(textScript('chat', 'Hello.')));
let web: WebServer;
let browsing: Browsing;

before(async () => {
  web = await startWebServer({ backend });
  browsing = await launch();
});
after(async () => {
  await browsing?.close();
  await web?.close();
});

/** Types a message and presses Enter, as a user would. */
async function sendMessage(p: OpenPage, text: string): Promise<void> {
  await p.page.locator('#prompt').fill(text);
  await p.page.locator('#prompt').press('Enter');
}

const lastAnswer = (p: OpenPage) => p.page.locator('article.msg.assistant').last();

function assertNoProblems(p: OpenPage): void {
  assert.deepEqual(p.problems, [], 'no console errors, page errors or CSP violations');
}

describe('chat page', () => {
  test('the answer appears token by token while the stream is open', async () => {
    const pieces = ['Once', ' upon', ' a', ' time', ' there', ' was', ' a', ' **river**.'];
    const gated = gatedBackend(pieces);
    backend.use(gated);
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Tell me a story');
    const body = lastAnswer(p).locator('.msg-body');

    // Each sample is taken while the server still holds the rest of the answer back.
    const samples: string[] = [];
    for (let i = 0; i < pieces.length; i++) {
      const expected = pieces
        .slice(0, i + 1)
        .join('')
        .replaceAll('**', '');
      await until(async () => ((await body.textContent()) ?? '').trim() === expected.trim(), `piece ${i} on screen`);
      assert.equal(gated.finished, false, 'the stream is still open');
      assert.equal(gated.sent, i + 1, 'the server has not sent more yet');
      samples.push((await body.textContent()) ?? '');
      if (i === 3) {
        assert.equal(await lastAnswer(p).getAttribute('aria-busy'), 'true');
        assert.equal(await p.page.locator('#stop').isVisible(), true, 'Stop is offered while streaming');
        await screenshot(p.page, 'chat-streaming');
      }
      gated.release();
    }
    for (let i = 1; i < samples.length; i++) {
      assert.ok(samples[i]!.length > samples[i - 1]!.length, `text grew between samples ${i - 1} and ${i}`);
    }
    await lastAnswer(p).locator('.meta .figures').waitFor();
    assert.equal(gated.finished, true);
    // Markdown rendered, figures shown, Send is back.
    assert.equal(await lastAnswer(p).locator('.msg-body strong').textContent(), 'river');
    const figures = (await lastAnswer(p).locator('.meta .figures').textContent()) ?? '';
    assert.match(figures, /first token \d+(\.\d)? (ms|s)/);
    assert.match(figures, /tok\/s/);
    assert.match(figures, /finish: stop/);
    assert.equal(await p.page.locator('#send').isVisible(), true);
    assertNoProblems(p);
  });

  test('Stop aborts the generation on the server and keeps the partial answer, marked stopped', async () => {
    const scripted = createScriptedBackend([
      ...textScript('chat', 'The beginning of a long answer', { delayMs: 5 }).slice(0, -2),
      { hang: true },
    ]);
    backend.use(scripted);
    const disconnectsBefore = await metric(web.url, 'sluice_client_disconnects_total');
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Write a long answer');
    const body = lastAnswer(p).locator('.msg-body');
    await until(async () => ((await body.textContent()) ?? '').includes('long answer'), 'the partial answer');
    assert.equal(scripted.calls[0]?.outcome, 'running');

    await p.page.keyboard.press('Escape');
    await until(() => scripted.calls[0]?.outcome === 'aborted', 'the backend to see the abort');
    assert.equal(scripted.aborts, 1);
    await until(
      async () => (await metric(web.url, 'sluice_client_disconnects_total')) === disconnectsBefore + 1,
      '/metrics to count the disconnect',
    );
    await lastAnswer(p).locator('.badge-stopped').waitFor();
    assert.equal((await body.textContent())?.trim(), 'The beginning of a long answer');
    assert.match((await lastAnswer(p).locator('.notice').textContent()) ?? '', /Stopped/);
    await screenshot(p.page, 'chat-stopped');

    // Regenerate replaces the stopped answer with a new one.
    backend.use(createScriptedBackend(textScript('chat', 'A short answer.')));
    await lastAnswer(p).getByRole('button', { name: 'Regenerate' }).click();
    await until(async () => ((await body.textContent()) ?? '').trim() === 'A short answer.', 'the regenerated answer');
    assert.equal(await p.page.locator('article.msg.assistant').count(), 1);
    assertNoProblems(p);
  });

  test('a reply with <img onerror> and <script> renders inert', async () => {
    const payload = [
      'Here you go: <img src=x onerror="alert(1)"> and <script>alert(2)</script>',
      '',
      '<iframe src="https://example.com/"></iframe> <a href="javascript:alert(3)">click</a>',
      '',
      '![tracker](https://example.com/pixel.png) [ok](https://example.com/ "t")',
      '',
      '<svg onload=alert(4)><style>body{display:none}</style>',
    ].join('\n');
    const scripted = createScriptedBackend(textScript('chat', payload));
    backend.use(scripted);
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Show me some HTML');
    await lastAnswer(p).locator('.meta .figures').waitFor();
    const body = lastAnswer(p).locator('.msg-body');

    // The markup is shown as text...
    const text = (await body.textContent()) ?? '';
    assert.ok(text.includes('<img src=x onerror="alert(1)">'), 'the img tag is visible as text');
    assert.ok(text.includes('<script>alert(2)</script>'), 'the script tag is visible as text');
    // ...and nothing of it became live.
    // Browser-side code as a string: the Node tsconfig has no DOM types.
    const live = await p.page.evaluate(`({
      handlers: [...document.querySelectorAll('*')].filter((el) =>
        [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).length,
      images: document.querySelectorAll('.thread img').length,
      scripts: document.querySelectorAll('.thread script, .thread iframe, .thread svg, .thread style').length,
      jsLinks: [...document.querySelectorAll('.thread a')].filter((a) => a.href.startsWith('javascript:')).length,
    })`);
    assert.deepEqual(live, { handlers: 0, images: 0, scripts: 0, jsLinks: 0 });
    // The safe link survives, hardened.
    const link = body.locator('a', { hasText: 'ok' });
    assert.equal(await link.getAttribute('href'), 'https://example.com/');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
    // The image became its alt text.
    assert.match(text, /\[image: tracker\]/);
    // Give any handler a moment to fire, then check nothing ran and nothing was fetched.
    await p.page.waitForTimeout(200);
    assert.deepEqual(p.dialogs, []);
    assert.deepEqual(
      p.requests.filter((u) => !u.startsWith(web.url)),
      [],
      'no request left the origin',
    );
    assert.ok(!p.requests.some((u) => u === `${web.url}/x`), 'no request for the img src');
    await screenshot(p.page, 'chat-xss-inert');
    assertNoProblems(p);
  });

  test('conversations survive a reload; the list switches, creates and deletes them', async () => {
    backend.use(createScriptedBackend((req) => textScript('chat', `Answer ${lastUserText(req.body).length}`)));
    const p = await browsing.open(web.url);
    await sendMessage(p, 'First conversation');
    await lastAnswer(p).locator('.meta .figures').waitFor();
    await p.page.getByRole('button', { name: 'New chat' }).click();
    await sendMessage(p, 'Second conversation');
    await lastAnswer(p).locator('.meta .figures').waitFor();

    await p.page.reload();
    await p.page.locator('.conv-item').first().waitFor();
    const titles = await p.page.locator('.conv-select').allTextContents();
    assert.deepEqual(titles, ['Second conversation', 'First conversation'], 'newest first');
    assert.equal(await p.page.locator('article.msg.user .msg-body').textContent(), 'Second conversation');
    assert.equal((await lastAnswer(p).locator('.msg-body').textContent())?.trim(), 'Answer 19');
    assert.match((await lastAnswer(p).locator('.meta').textContent()) ?? '', /finish: stop/, 'figures are kept');

    await p.page.getByRole('button', { name: 'First conversation', exact: true }).click();
    assert.equal(await p.page.locator('article.msg.user .msg-body').textContent(), 'First conversation');
    await screenshot(p.page, 'chat-conversations');

    // Delete takes two clicks (no confirm dialog).
    const remove = p.page.getByRole('button', { name: 'Delete conversation: Second conversation' });
    await remove.click();
    await p.page.getByRole('button', { name: 'Confirm delete: Second conversation' }).click();
    assert.deepEqual(await p.page.locator('.conv-select').allTextContents(), ['First conversation']);
    await p.page.reload();
    await p.page.locator('.conv-item').first().waitFor();
    assert.deepEqual(await p.page.locator('.conv-select').allTextContents(), ['First conversation']);
    assertNoProblems(p);
  });

  test('a tool call shows as a collapsible block: the name as summary, arguments as they stream, then pretty-printed; kept on reload', async () => {
    const pieces = ['{"city"', ': "Paris", "days"', ': 3}'];
    const scripted = createScriptedBackend(toolCallScript('get_weather', pieces, true));
    backend.use(scripted);
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Weather in Paris?');
    const block = lastAnswer(p).locator('details.tool-call');
    await block.waitFor();
    assert.equal((await block.locator('summary').textContent())?.trim(), '⚙get_weather');
    assert.equal(await block.evaluate((d) => d.hasAttribute('open')), false, 'collapsed at first');
    await block.locator('summary').click();
    const args = block.locator('pre.tool-args');
    await until(async () => (await args.textContent()) === '{"city"', 'the first piece, as received');
    assert.equal(await lastAnswer(p).getAttribute('aria-busy'), 'true', 'still streaming');
    scripted.release();
    await until(async () => (await args.textContent()) === '{"city": "Paris", "days"', 'the second piece');
    scripted.release();
    const pretty = JSON.stringify({ city: 'Paris', days: 3 }, null, 2);
    await until(async () => (await args.textContent()) === pretty, 'pretty-printed once complete');
    assert.equal(await block.evaluate((d) => d.hasAttribute('open')), true, 'stays open while it streams and after');
    await lastAnswer(p).locator('.meta .figures').waitFor();
    assert.match((await lastAnswer(p).locator('.meta').textContent()) ?? '', /tool_calls/);
    await screenshot(p.page, 'chat-tool-call');

    await p.page.reload();
    const again = lastAnswer(p).locator('details.tool-call');
    await again.waitFor();
    assert.equal((await again.locator('summary').textContent())?.trim(), '⚙get_weather');
    assert.equal(await again.locator('pre.tool-args').textContent(), pretty);
    assertNoProblems(p);
  });

  test('an upstream error mid-stream shows a notice, keeps the partial text, and Retry works', async () => {
    const failing = createScriptedBackend([
      ...textScript('chat', 'Partial text before').slice(0, -2),
      {
        error: new ServerError('upstream failed', {
          status: 500,
          body: { error: { code: 'InternalServerError', message: 'The upstream model crashed.' } },
        }),
      },
    ]);
    backend.use(failing);
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Hello?');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Failed.*The upstream model crashed\./);
    assert.equal(await notice.getAttribute('role'), 'alert');
    assert.equal((await lastAnswer(p).locator('.msg-body').textContent())?.trim(), 'Partial text before');
    await screenshot(p.page, 'chat-upstream-error');

    backend.use(createScriptedBackend(textScript('chat', 'Recovered.')));
    await notice.getByRole('button', { name: 'Retry' }).click();
    await until(
      async () => ((await lastAnswer(p).locator('.msg-body').textContent()) ?? '').trim() === 'Recovered.',
      'the retried answer',
    );
    assert.equal(await lastAnswer(p).locator('.notice').count(), 0);
    assertNoProblems(p);
  });

  test('an error before the first token (HTTP 502) shows a notice with the status', async () => {
    backend.use(
      createScriptedBackend([
        {
          error: new ServerError('bad gateway', {
            status: 502,
            body: { error: { code: '502', message: 'Bad gateway.' } },
          }),
        },
      ]),
    );
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Hello?');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    const text = (await notice.textContent()) ?? '';
    assert.match(text, /Bad gateway\./);
    assert.match(text, /HTTP 502/);
    assert.match(text, /request [0-9a-f-]{36}/, 'the request id, for support');
    assert.equal(await notice.getByRole('button', { name: 'Retry' }).count(), 1);
    // The browser logs failed fetches; nothing else may appear.
    assert.deepEqual(
      p.problems.filter((m) => !m.includes('502')),
      [],
    );
  });

  test('429 shows the retry delay, counts down, then Retry succeeds', async () => {
    backend.use(createScriptedBackend([{ error: new OverloadedError(2000) }]));
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Busy?');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Rate limited.*Retry after 2 s/);
    const retry = notice.locator('button.retry');
    assert.equal(await retry.isDisabled(), true, 'Retry waits for the delay');
    assert.match((await retry.textContent()) ?? '', /Retry in [12] s/);
    await screenshot(p.page, 'chat-rate-limited');

    backend.use(createScriptedBackend(textScript('chat', 'Now it works.')));
    await retry.waitFor({ state: 'visible' });
    await until(async () => !(await retry.isDisabled()), 'Retry to become available', 4000);
    assert.equal(await retry.textContent(), 'Retry');
    await retry.click();
    await until(
      async () => ((await lastAnswer(p).locator('.msg-body').textContent()) ?? '').trim() === 'Now it works.',
      'the retried answer',
    );
    assert.deepEqual(
      p.problems.filter((m) => !m.includes('429')),
      [],
    );
  });

  test('a prompt blocked by the content filter says so and offers to edit', async () => {
    backend.use(
      createScriptedBackend([
        {
          error: new ContentFilterError('filtered', {
            status: 400,
            where: 'prompt',
            categories: ['violence'],
            body: {
              error: {
                code: 'content_filter',
                message: 'The response was filtered.',
                param: 'prompt',
                innererror: {
                  code: 'ResponsibleAIPolicyViolation',
                  content_filter_result: { violence: { filtered: true, severity: 'medium' } },
                },
              },
            },
          }),
        },
      ]),
    );
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Something violent');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Blocked by the content filter.*\(violence\)/);
    await notice.getByRole('button', { name: 'Edit message' }).click();
    const editor = p.page.getByRole('textbox', { name: 'Edit your message' });
    assert.equal(await editor.inputValue(), 'Something violent');
    backend.use(createScriptedBackend(textScript('chat', 'A calm answer.')));
    await editor.fill('Something calm');
    await editor.press('Enter');
    await until(
      async () => ((await lastAnswer(p).locator('.msg-body').textContent()) ?? '').trim() === 'A calm answer.',
      'the answer to the edited message',
    );
    assert.deepEqual(await p.page.locator('article.msg.user .msg-body').allTextContents(), ['Something calm']);
  });

  test('a completion cut by the content filter is marked filtered', async () => {
    backend.use(createScriptedBackend(textScript('chat', 'Some text', { finishReason: 'content_filter' })));
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Hi');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Filtered.*content filter stopped this answer/);
    await lastAnswer(p).locator('.badge-filtered').waitFor();
  });

  test('edit and resend the last message; Shift+Enter makes a new line; settings go into the request', async () => {
    const scripted = createScriptedBackend((req) => textScript('chat', `You said: ${lastUserText(req.body)}`));
    backend.use(scripted);
    const p = await browsing.open(web.url);

    await p.page.getByRole('button', { name: 'Settings' }).click();
    await p.page.getByLabel('Max tokens').fill('42');
    await p.page.getByLabel('Temperature').fill('0.3');
    await p.page.getByLabel('System message').fill('Be brief.');
    await p.page.getByLabel('Model or deployment').fill('my-deployment');
    await screenshot(p.page, 'settings');
    await p.page.getByRole('button', { name: 'Save' }).click();
    assert.equal(await p.page.locator('#model-label').textContent(), 'my-deployment');

    const prompt = p.page.locator('#prompt');
    await prompt.fill('line one');
    await prompt.press('Shift+Enter');
    await prompt.pressSequentially('line two');
    assert.equal(await prompt.inputValue(), 'line one\nline two', 'Shift+Enter adds a line, does not send');
    await prompt.press('Enter');
    await until(async () => scripted.calls[0]?.outcome === 'done', 'the first answer');
    const body = scripted.requests[0]!.body as Record<string, unknown>;
    assert.equal(body.max_tokens, 42);
    assert.equal(body.temperature, 0.3);
    assert.equal(body.model, 'my-deployment');
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'line one\nline two' },
    ]);

    await p.page.locator('article.msg.user').getByRole('button', { name: 'Edit and resend' }).click();
    const editor = p.page.getByRole('textbox', { name: 'Edit your message' });
    await editor.fill('edited');
    await p.page.locator('article.msg.user').getByRole('button', { name: 'Send' }).click();
    await until(
      async () => ((await lastAnswer(p).locator('.msg-body').textContent()) ?? '').trim() === 'You said: edited',
      'the answer to the edited message',
    );
    assert.equal(await p.page.locator('article.msg').count(), 2, 'the old pair was replaced');
    const second = scripted.requests[1]!.body as Record<string, unknown>;
    assert.deepEqual(second.messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'edited' },
    ]);
    assertNoProblems(p);
  });

  test('completion mode streams a continuation of the prompt from /v1/completions', async () => {
    const scripted = createScriptedBackend(textScript('completions', ' there was a little fox.'));
    backend.use(scripted);
    const p = await browsing.open(web.url);
    await p.page.getByRole('tab', { name: 'Completion' }).click();
    await p.page.getByLabel('Prompt').fill('Once upon a time');
    await p.page.getByLabel('Prompt').press('Control+Enter');
    const output = p.page.locator('#completion-output');
    await until(
      async () => (await output.textContent()) === 'Once upon a time there was a little fox.',
      'the completion',
    );
    await p.page.locator('#completion-meta .figures').waitFor();
    assert.equal(scripted.requests[0]?.kind, 'completions');
    assert.equal((scripted.requests[0]!.body as Record<string, unknown>).prompt, 'Once upon a time');
    await screenshot(p.page, 'completion');

    // Stop works here too (Esc), and the server-side generation ends.
    const hanging = createScriptedBackend([...textScript('completions', ' And then').slice(0, -2), { hang: true }]);
    backend.use(hanging);
    await p.page.getByRole('button', { name: 'Generate' }).click();
    await until(async () => ((await output.textContent()) ?? '').endsWith('And then'), 'the partial completion');
    await p.page.keyboard.press('Escape');
    await until(() => hanging.calls[0]?.outcome === 'aborted', 'the backend abort');
    await p.page.locator('#completion-meta .badge-stopped').waitFor();
    assert.equal(await output.textContent(), 'Once upon a time And then');
    assertNoProblems(p);
  });

  test('Markdown renders progressively: an unclosed code block is already highlighted', async () => {
    const gated = gatedBackend(['Here:\n\n```ts\n', 'const answer = 42;\n', 'return answer;\n', '```\n\nDone.']);
    backend.use(gated);
    const p = await browsing.open(web.url, { dark: true });
    await sendMessage(p, 'Some code please');
    gated.release();
    const code = lastAnswer(p).locator('pre code');
    await until(async () => ((await code.textContent()) ?? '').includes('const answer = 42;'), 'the code so far');
    assert.equal(gated.finished, false, 'the fence is still open');
    assert.ok((await code.locator('.hljs-keyword').count()) > 0, 'highlighted before the fence closed');
    assert.equal(await code.getAttribute('class'), 'hljs language-ts');
    gated.release();
    gated.release();
    gated.release();
    await lastAnswer(p).locator('.meta .figures').waitFor();
    assert.equal(await lastAnswer(p).locator('pre').count(), 1);
    assert.equal((await lastAnswer(p).locator('.msg-body > p').last().textContent())?.trim(), 'Done.');
    await screenshot(p.page, 'desktop-dark-code');
    assertNoProblems(p);
  });

  test('a reload mid-stream keeps every character shown, marked interrupted, and the server stops generating', async () => {
    const gated = gatedBackend(['Saved', ' before', ' the reload']);
    backend.use(gated);
    const p = await browsing.open(web.url);
    await sendMessage(p, 'Keep this');
    const body = lastAnswer(p).locator('.msg-body');
    await until(async () => ((await body.textContent()) ?? '').includes('Saved'), 'the first piece');
    gated.release();
    gated.release();
    await until(async () => ((await body.textContent()) ?? '').includes('the reload'), 'all pieces');
    // No waiting for a save timer: whatever is on screen when the user reloads must survive.
    const shown = ((await body.textContent()) ?? '').trim();
    await p.page.reload();
    await until(() => gated.aborted, 'the server to abort the orphaned generation');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Interrupted/);
    assert.equal((await lastAnswer(p).locator('.msg-body').textContent())?.trim(), shown);
    assert.equal(shown, 'Saved before the reload');
    assertNoProblems(p);
  });

  test('a reload mid-completion keeps every character shown', async () => {
    const gated = gatedBackend([' there', ' was', ' a fox']);
    backend.use(gated);
    const p = await browsing.open(web.url);
    await p.page.getByRole('tab', { name: 'Completion' }).click();
    await p.page.getByLabel('Prompt').fill('Once upon a time');
    await p.page.getByLabel('Prompt').press('Control+Enter');
    const generated = p.page.locator('#completion-generated');
    await until(async () => (await generated.textContent()) === ' there', 'the first piece');
    gated.release();
    gated.release();
    await until(async () => (await generated.textContent()) === ' there was a fox', 'all pieces');
    await p.page.reload();
    await until(() => gated.aborted, 'the server to abort the orphaned generation');
    await p.page.getByRole('tab', { name: 'Completion' }).click();
    assert.equal(await p.page.locator('#completion-generated').textContent(), ' there was a fox');
    await p.page.locator('#completion-meta .badge-interrupted').waitFor();
    assertNoProblems(p);
  });

  test('a chat that outgrows the context drops the oldest turns, says so, and goes on; a meter shows the fill', async () => {
    // A model with a 40-token context where a word is a token and every answer is 10 tokens.
    const limit = 40;
    const answer = 'one two three four five six seven eight nine ten';
    const scripted = createScriptedBackend((req) => {
      const messages = (req.body as { messages: Array<{ content: string }> }).messages;
      const prompt = messages.reduce((n, m) => n + m.content.split(/\s+/).filter(Boolean).length, 0);
      if (prompt + 10 > limit) return [{ error: contextLengthExceeded(prompt, limit) }];
      return textScript('chat', answer, { promptTokens: prompt });
    });
    backend.use(scripted);
    const p = await browsing.open(web.url);
    await p.page.getByRole('button', { name: 'Settings' }).click();
    await p.page.getByLabel('System message').fill('Be brief.');
    await p.page.getByRole('button', { name: 'Save' }).click();
    const meter = p.page.locator('#context-meter');
    const answers = p.page.locator('article.msg.assistant');
    const ask = async (text: string, count: number) => {
      await sendMessage(p, text);
      await until(async () => (await answers.count()) === count, `answer ${count}`);
      await answers
        .nth(count - 1)
        .locator('.meta .figures')
        .waitFor();
    };

    await ask('first question about the cat', 1);
    // The size is not known yet (this backend states none in /v1/models): tokens only.
    assert.equal((await meter.textContent())?.replace(/\s+/g, ' ').trim(), 'Context 17 tokens');
    await ask('second question about the dog', 2);
    await ask('third question about the bird', 3);

    // The third turn did not fit: the first turn was dropped and the request sent again.
    assert.equal(scripted.requests.length, 4);
    assert.deepEqual((scripted.requests[3]!.body as { messages: Array<{ role: string; content: string }> }).messages, [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'second question about the dog' },
      { role: 'assistant', content: answer },
      { role: 'user', content: 'third question about the bird' },
    ]);
    assert.deepEqual(
      (await answers.locator('.msg-body').allTextContents()).map((t) => t.trim()),
      [answer, answer, answer],
      'every turn answered',
    );
    assert.equal(await answers.locator('.notice').count(), 0, 'no failure shown');
    const divider = p.page.locator('.context-divider');
    assert.equal(await divider.textContent(), 'Context full: the 2 messages above are no longer sent to the model.');
    // The size came with the error; the meter now shows prompt + answer against it.
    assert.equal((await meter.textContent())?.replace(/\s+/g, ' ').trim(), 'Context 32 / 40 tokens');
    assert.deepEqual(
      await p.page.evaluate(
        `[document.getElementById('context-bar').value, document.getElementById('context-bar').max]`,
      ),
      [32, 40],
    );
    await screenshot(p.page, 'chat-context-full');

    // It carries on after a reload, and the next overflow drops the next turn.
    await p.page.reload();
    await answers.nth(2).waitFor();
    await ask('fourth question about the fish', 4);
    assert.equal((await answers.nth(3).locator('.msg-body').textContent())?.trim(), answer);
    assert.equal(await divider.textContent(), 'Context full: the 4 messages above are no longer sent to the model.');

    // A message that alone does not fit: nothing left to drop, so it is said, with what to do.
    await p.page.getByRole('button', { name: 'New chat' }).click();
    await sendMessage(p, Array.from({ length: 40 }, (_, i) => `w${i}`).join(' '));
    const notice = answers.last().locator('.notice');
    await notice.waitFor();
    assert.match(
      (await notice.textContent()) ?? '',
      /Too long for the model.*Shorten your message, or lower Max tokens/,
    );
    assert.equal(await notice.getByRole('button', { name: 'Open settings' }).count(), 1);
    assert.deepEqual(
      p.problems.filter((m) => !m.includes('400')),
      [],
    );
  });

  test('the context meter takes the size /v1/models states for the model', async () => {
    // A backend that knows its context size (as the embedded model does once loaded).
    const sized = Object.assign(createScriptedBackend(textScript('chat', 'Hi there', { promptTokens: 20 })), {
      capabilities: { maxTokens: 4096 },
    });
    const own = await startWebServer({ backend: sized });
    try {
      const models = (await (await fetch(`${own.url}/v1/models`)).json()) as {
        data: Array<{ context_length?: number }>;
      };
      assert.equal(models.data[0]?.context_length, 4096);
      const p = await browsing.open(own.url);
      await sendMessage(p, 'Hello');
      await lastAnswer(p).locator('.meta .figures').waitFor();
      const meter = p.page.locator('#context-meter');
      assert.equal((await meter.textContent())?.replace(/\s+/g, ' ').trim(), 'Context 22 / 4096 tokens');
      assertNoProblems(p);
    } finally {
      await own.close();
    }
  });

  test('the model picker lists the served names, a switch sends the next request there and survives a reload; one name, no picker', async () => {
    // Two names answering differently, each knowing its context size (as gateway names now do).
    const named = (text: string, maxTokens: number) =>
      Object.assign(createScriptedBackend(textScript('chat', text, { promptTokens: 10 })), {
        capabilities: { maxTokens },
      });
    const alpha = named('From alpha', 4096);
    const beta = named('From beta', 2048);
    const own = await startWebServer({ deployments: { alpha, beta } });
    try {
      const p = await browsing.open(own.url);
      const picker = p.page.getByRole('combobox', { name: 'Model' });
      await until(async () => (await picker.locator('option').count()) === 2, 'both served names in the picker');
      assert.deepEqual(await picker.locator('option').allTextContents(), ['alpha', 'beta']);
      assert.equal(await picker.inputValue(), 'alpha', 'the first served name is the default');
      await sendMessage(p, 'Hello');
      await lastAnswer(p).locator('.meta .figures').waitFor();
      assert.equal((await lastAnswer(p).locator('.msg-body').textContent())?.trim(), 'From alpha');

      // From the keyboard: the picker is a native select.
      await picker.focus();
      await p.page.keyboard.press('ArrowDown');
      assert.equal(await picker.inputValue(), 'beta');
      await sendMessage(p, 'Again');
      await until(async () => beta.calls[0]?.outcome === 'done', 'the answer from beta');
      await until(
        async () => (await lastAnswer(p).locator('.msg-body').textContent())?.trim() === 'From beta',
        'the answer from beta on screen',
      );
      assert.equal(alpha.requests.length, 1, 'the second request did not go to alpha');
      assert.deepEqual(
        await p.page.locator('article.msg.assistant .msg-model').allTextContents(),
        ['alpha', 'beta'],
        'each answer shows which model answered',
      );
      await lastAnswer(p).locator('.meta .figures').waitFor();
      const meter = p.page.locator('#context-meter');
      assert.equal((await meter.textContent())?.replace(/\s+/g, ' ').trim(), 'Context 12 / 2048 tokens', "beta's size");
      await screenshot(p.page, 'model-picker');

      await p.page.reload();
      await until(async () => (await picker.locator('option').count()) === 2, 'the picker after the reload');
      assert.equal(await picker.inputValue(), 'beta', 'the conversation keeps its model');
      assert.deepEqual(await p.page.locator('article.msg.assistant .msg-model').allTextContents(), ['alpha', 'beta']);
      await sendMessage(p, 'Once more');
      await until(async () => beta.calls[1]?.outcome === 'done', 'the next answer from beta');
      assert.equal(alpha.requests.length, 1);
      // A new conversation starts on the last choice.
      await p.page.getByRole('button', { name: 'New chat' }).click();
      assert.equal(await picker.inputValue(), 'beta', 'the default for new conversations');
      assertNoProblems(p);
    } finally {
      await own.close();
    }
    // One served name: the header just shows it, no picker.
    const single = await browsing.open(web.url);
    await until(async () => (await single.page.locator('#model-label').textContent()) === 'test-model', 'the name');
    assert.equal(await single.page.locator('#model-label').isVisible(), true);
    assert.equal(await single.page.getByRole('combobox', { name: 'Model' }).count(), 0, 'no picker for one name');
  });

  test('keyboard and labels: every control has a name, focus is visible, Enter does not double-send', async () => {
    const gated = gatedBackend(['Busy']);
    backend.use(gated);
    const p = await browsing.open(web.url);
    const unnamed = await p.page.evaluate(`[...document.querySelectorAll('button, input, textarea, select')]
      .filter((el) => !el.closest('[hidden]') && !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim()))
      .map((el) => el.outerHTML)`);
    assert.deepEqual(unnamed, [], 'no unnamed control');

    await sendMessage(p, 'First');
    await until(
      async () => (await lastAnswer(p).locator('.msg-body').textContent())?.trim() === 'Busy',
      'the first piece',
    );
    await p.page.locator('#prompt').fill('Second');
    await p.page.locator('#prompt').press('Enter');
    await p.page.waitForTimeout(100);
    assert.equal(await p.page.locator('article.msg.user').count(), 1, 'Enter while streaming sends nothing');
    assert.equal(await p.page.locator('#prompt').inputValue(), 'Second', 'the draft is kept');
    gated.release();
    await lastAnswer(p).locator('.meta .figures').waitFor();

    // Tab from the message box reaches Send, with a visible focus ring.
    await p.page.locator('#prompt').focus();
    await p.page.keyboard.press('Tab');
    const focused = await p.page.evaluate(
      `({ id: document.activeElement.id, outline: getComputedStyle(document.activeElement).outlineStyle })`,
    );
    assert.deepEqual(focused, { id: 'send', outline: 'solid' });

    // The settings dialog opens from the keyboard and Esc closes it.
    await p.page.getByRole('button', { name: 'Settings' }).focus();
    await p.page.keyboard.press('Enter');
    await p.page.locator('#settings-dialog').waitFor();
    await p.page.keyboard.press('Escape');
    await p.page.locator('#settings-dialog').waitFor({ state: 'hidden' });
    // Arrow keys move between the Chat and Completion tabs.
    await p.page.getByRole('tab', { name: 'Chat' }).focus();
    await p.page.keyboard.press('ArrowRight');
    assert.equal(await p.page.getByRole('tab', { name: 'Completion' }).getAttribute('aria-selected'), 'true');
    assert.equal(await p.page.locator('#completion-panel').isVisible(), true);
    assertNoProblems(p);
  });

  test('the CSP is enforced in the page: inline script and HTML sinks outside DOMPurify are refused', async () => {
    const p = await browsing.open(web.url);
    await screenshot(p.page, 'chat-empty');
    const outcome = await p.page.evaluate(`(() => {
      const result = {};
      try { document.createElement('div').innerHTML = '<b>x</b>'; result.innerHTML = 'allowed'; }
      catch (e) { result.innerHTML = e.name; }
      window.__ran = false;
      try {
        const s = document.createElement('script');
        s.text = 'window.__ran = true';
        document.body.append(s);
        result.inlineScript = 'appended';
      } catch (e) { result.inlineScript = e.name; }
      result.ran = window.__ran;
      return result;
    })()`);
    assert.deepEqual(outcome, { innerHTML: 'TypeError', inlineScript: 'TypeError', ran: false });
    // The refusals were reported as violations, nothing else was.
    assert.ok(
      p.problems.length > 0 && p.problems.every((m) => /Trusted Type|TrustedHTML|TrustedScript/i.test(m)),
      p.problems.join('\n'),
    );
  });

  test('phone-sized screen in dark mode: the list opens from the menu button', async () => {
    backend.use(
      createScriptedBackend(
        textScript(
          'chat',
          'Sure! Here is a function:\n\n```ts\nexport function add(a: number, b: number): number {\n  // sum\n  return a + b;\n}\n```\n\n- one\n- two with `code`',
        ),
      ),
    );
    const p = await browsing.open(web.url, { viewport: { width: 390, height: 760 }, dark: true });
    await sendMessage(p, 'Write a function that adds two numbers');
    await lastAnswer(p).locator('.meta .figures').waitFor();
    assert.ok((await lastAnswer(p).locator('pre code .hljs-keyword').count()) > 0, 'code is highlighted');
    const overflow = await p.page.evaluate('document.documentElement.scrollWidth > window.innerWidth');
    assert.equal(overflow, false, 'nothing sticks out sideways');
    await screenshot(p.page, 'phone-dark-chat');
    assert.equal(await p.page.locator('#sidebar').isVisible(), false);
    await p.page.getByRole('button', { name: 'Conversations' }).click();
    await p.page.locator('#sidebar').waitFor({ state: 'visible' });
    await p.page.waitForTimeout(50);
    await screenshot(p.page, 'phone-dark-sidebar');
    await p.page.keyboard.press('Escape');
    await p.page.locator('#sidebar').waitFor({ state: 'hidden' });
    assertNoProblems(p);
  });
});

/** What the embedded model (and OpenAI) answer when the prompt does not fit the context. */
function contextLengthExceeded(promptTokens: number, contextSize: number): BadRequestError {
  const message =
    `This model's maximum context length is ${contextSize} tokens. However, your messages resulted in ` +
    `${promptTokens} tokens, which leaves no room for a completion. Please reduce the length of the messages.`;
  return new BadRequestError(message, {
    status: 400,
    body: { error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
  });
}

function lastUserText(body: unknown): string {
  const messages = (body as { messages?: Array<{ role: string; content: string }> }).messages ?? [];
  return messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
}

describe('chat page on a misbehaving server', () => {
  const servers: Server[] = [];
  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  /**
   * A raw server (the Sluice server always ends its streams properly; a proxy, a crash or a
   * hostile upstream may not): the built page, an empty model list, and `chat` answering
   * POST /v1/chat/completions with its call number. Returns the page's URL.
   */
  async function rawPageServer(chat: (res: ServerResponse, call: number) => void): Promise<string> {
    const serveStatic = createStaticHandler({ dir: await builtPage() });
    let calls = 0;
    const server = createHttpServer((req, res) => {
      if (req.method === 'POST' && req.url === '/v1/chat/completions') return chat(res, ++calls);
      if (req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[]}');
        return;
      }
      if (!serveStatic(req, res)) res.writeHead(404).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  test('a stream cut before [DONE] shows "Cut off", keeps the text and offers Retry', async () => {
    let calls = 0;
    const url = await rawPageServer((res, call) => {
      calls = call;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${JSON.stringify(chatChunk('The first half'))}\n\n`);
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const p = await browsing.open(url);
    await sendMessage(p, 'Hello');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Cut off.*connection was lost.*What arrived is kept/);
    assert.equal((await lastAnswer(p).locator('.msg-body').textContent())?.trim(), 'The first half');
    await lastAnswer(p).locator('.badge-truncated').waitFor();
    await screenshot(p.page, 'chat-truncated');
    await notice.getByRole('button', { name: 'Retry' }).click();
    await until(() => calls === 2, 'the retried request');
  });

  test('hostile chunks (__proto__, constructor, prototype keys) pollute nothing in the page', async () => {
    const url = await rawPageServer((res, call) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const honest = `data: ${JSON.stringify(chatChunk('Still fine.'))}\n\ndata: ${JSON.stringify(chatChunk(null, 'stop'))}\n\n`;
      res.end(`${call === 1 ? HOSTILE_STREAM : honest}data: [DONE]\n\n`);
    });
    const p = await browsing.open(url);
    await sendMessage(p, 'Hello');
    const notice = lastAnswer(p).locator('.notice');
    await notice.waitFor();
    assert.match((await notice.textContent()) ?? '', /Filtered.*\(violence\)/);
    assert.equal((await lastAnswer(p).locator('.msg-body').textContent())?.trim(), 'Hi there');
    const probe = `(() => { const o = {}; return [o.polluted, o.filtered, o.severity, o.content, Object.getPrototypeOf(o) === Object.prototype]; })()`;
    assert.deepEqual(await p.page.evaluate(probe), [undefined, undefined, undefined, undefined, true]);
    // The page goes on working, and so does what it saved.
    await p.page.reload();
    await lastAnswer(p).locator('.notice').waitFor();
    assert.deepEqual(await p.page.evaluate(probe), [undefined, undefined, undefined, undefined, true]);
    await sendMessage(p, 'Again');
    await until(
      async () => ((await lastAnswer(p).locator('.msg-body').textContent()) ?? '').trim() === 'Still fine.',
      'the next answer',
    );
    assertNoProblems(p);
  });
});
