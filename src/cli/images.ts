/**
 * Images attached to a chat message (`-a chart.png`): put into the last user message as
 * content parts, refused before sending when the target is the local model (which takes
 * only text), and an upstream's 400 about them recognised so the CLI says the same thing.
 * @module
 */
import { ErrorCodes } from '../errors.js';
import type { EndState } from '../protocol/end-state.js';
import type { ChatMessage } from '../types.js';
import type { AnswerOutcome } from './answer.js';
import { type ImageAttachment, imagesRefused, messageContent } from './attachments.js';
import { answerChat, type ChatCall, type ChatExtra, type Setup } from './commands/shared.js';
import { messagesFor, type Turn } from './conversation.js';
import { UsageError } from './usage-error.js';

/**
 * Refuses images for the local model before anything is loaded or sent.
 * @example
 * checkImagesAccepted(setup, images) // throws for the local model
 */
export function checkImagesAccepted(s: Setup, images: readonly ImageAttachment[]): void {
  if (images.length === 0 || s.config.target.kind !== 'local') return;
  throw new UsageError(
    imagesRefused(
      images.map((i) => i.name),
      'The local model',
    ),
    {
      setting: '--attach',
      command: 'chat',
    },
  );
}

/**
 * `messages` with the images added to the last one (the user's).
 * @example
 * withImages(messagesFor(undefined, turns), images)
 */
export function withImages(messages: ChatMessage[], images: readonly ImageAttachment[]): ChatMessage[] {
  const last = messages.at(-1);
  if (images.length === 0 || last === undefined) return messages;
  const text = typeof last.content === 'string' ? last.content : '';
  return [...messages.slice(0, -1), { ...last, content: messageContent(text, images) }];
}

/**
 * True when the request failed with a 400 about the image parts (the model takes none).
 * @example
 * imagesRefusedUpstream(outcome.end)
 */
export function imagesRefusedUpstream(end: EndState): boolean {
  if (end.state !== 'failed' || end.error.code !== ErrorCodes.BAD_REQUEST) return false;
  const body = (end.error as { body?: { error?: { param?: unknown; message?: unknown } } }).body?.error;
  const about = `${typeof body?.param === 'string' ? body.param : ''} ${typeof body?.message === 'string' ? body.message : end.error.message}`;
  return /image/i.test(about);
}

/**
 * One answer to the last of `turns` with the images added to it. An upstream's 400 about
 * the images is told in the same words as the local model's refusal.
 * @example
 * const outcome = await answerWithImages(call, system, turns, images, {});
 */
export async function answerWithImages(
  call: ChatCall,
  system: string | undefined,
  turns: readonly Turn[],
  images: readonly ImageAttachment[],
  extra: ChatExtra,
): Promise<AnswerOutcome> {
  const messages = withImages(messagesFor(system, turns), images);
  const outcome = await answerChat(call, messages, { ...extra, quietWhen: imagesRefusedUpstream });
  if (imagesRefusedUpstream(outcome.end)) {
    const names = images.map((i) => i.name);
    call.io.stderr.write(`sluice: ${imagesRefused(names, 'The model')}\n`);
  }
  return outcome;
}
