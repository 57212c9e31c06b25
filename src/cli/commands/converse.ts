/**
 * One answer in a conversation (the interactive chat, or `sluice chat --continue`): the
 * history is sent, and while the model's context is full the oldest exchanges are dropped
 * (the system message and the latest question stay) and the question asked again.
 * @module
 */
import { dropOldestExchange } from '../../protocol/context.js';
import type { AnswerOutcome } from '../answer.js';
import { isContextFull, messagesFor, type Turn } from '../conversation.js';
import { answerChat, type ChatCall, type ChatExtra } from './shared.js';

/**
 * Answers the last of `turns` (the user's question). `turns` loses the exchanges dropped to
 * fit; one line on stderr says how many, before the answer's first text.
 * @example
 * const outcome = await answerTurns({ io, engine, setup: s, signal }, system, turns);
 */
export async function answerTurns(
  call: ChatCall,
  system: string | undefined,
  turns: Turn[],
  extra: Omit<ChatExtra, 'quietWhen' | 'onFirstText'> = {},
): Promise<AnswerOutcome> {
  let dropped = 0;
  let noted = false;
  const noteDropped = () => {
    if (dropped === 0 || noted) return;
    noted = true;
    call.io.stderr.write(`${droppedNote(dropped, system !== undefined)}\n`);
  };
  let outcome: AnswerOutcome;
  for (;;) {
    outcome = await answerChat(call, messagesFor(system, turns), {
      ...extra,
      quietWhen: (end) => isContextFull(end) && turns.length > 1,
      onFirstText: noteDropped,
    });
    if (!(isContextFull(outcome.end) && turns.length > 1)) break;
    dropped += dropOldestExchange(turns);
  }
  noteDropped();
  return outcome;
}

// --- internal ---

/** The one line that says the conversation was shortened to fit. */
function droppedNote(dropped: number, hasSystem: boolean): string {
  const kept = hasSystem ? 'the system message and your latest message stay' : 'your latest message stays';
  return `sluice: the conversation no longer fit the model's context: dropped the ${dropped} oldest turn${dropped === 1 ? '' : 's'} (${kept}).`;
}
