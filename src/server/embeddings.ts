/**
 * Answers one `/embeddings` request: the backend's `embed()` (the local model, an upstream,
 * the gateway's router), its answer sent as one JSON document, as Azure and OpenAI answer it.
 * Counted, timed, routed (`x-sluice-target`) and aborted on a hang-up or a shutdown like a
 * non-streaming generation (generation.ts's begin/end); errors from the one reply builder.
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Backend, EmbeddingsBackendRequest } from '../backend.js';
import type { EmbeddingsRequest } from '../protocol/embeddings.js';
import type { AnyResponse } from '../types.js';
import type { GenerationLease } from './access.js';
import { operationNotSupported, replyForError } from './error-replies.js';
import { answerFailure, begin, end, routed, type Tracked } from './generation.js';
import { timingHeaders } from './observer.js';
import type { Dialect } from './routes.js';
import { sendJson, sendReply } from './send.js';

/** One embeddings request, as the app hands it over. */
export interface EmbeddingsCall extends Tracked {
  dialect: Dialect;
  apiVersion: string | undefined;
  deployment: string | undefined;
  body: EmbeddingsRequest;
  backend: Backend;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** Per-key access: the admitted request's account (booked with the answer's usage). */
  lease?: GenerationLease | undefined;
}

/**
 * @example
 * ```ts
 * await serveEmbeddings(res, { dialect: 'openai', apiVersion: undefined, deployment: 'tiny', body, backend, metrics, live, report });
 * ```
 */
export async function serveEmbeddings(res: ServerResponse, call: EmbeddingsCall): Promise<void> {
  const { backend, report, metrics } = call;
  if (!backend.embed) {
    report.outcome = 'error';
    call.lease?.end(report);
    return sendReply(res, operationNotSupported(call.dialect, 'embeddings', call.deployment));
  }
  const { controller, tracker } = begin(res, call);
  const request: EmbeddingsBackendRequest =
    call.deployment === undefined ? { body: call.body } : { body: call.body, deployment: call.deployment };
  const calledAt = performance.now();
  try {
    const answer = await backend.embed(request, controller.signal);
    const waited = performance.now() - calledAt;
    const usage = answer.usage;
    if (usage && typeof usage.prompt_tokens === 'number') {
      metrics.promptTokens += usage.prompt_tokens;
      report.usage = { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: usage.prompt_tokens };
      // The account books a completion's usage: the prompt tokens, nothing generated.
      call.lease?.response({ choices: [], usage: report.usage } as unknown as AnyResponse);
    }
    if (!tracker.gone) {
      report.gatewayMs = performance.now() - call.startedAt - waited;
      sendJson(res, 200, answer, routed(timingHeaders(report, request), request));
      report.outcome = 'completed';
    }
  } catch (thrown) {
    answerFailure(res, call, { controller, tracker }, thrown, calledAt, request, (error) =>
      replyForError(error, call.dialect, 'Embeddings_Create', call.apiVersion),
    );
  } finally {
    end(res, call, controller, tracker, request);
    call.lease?.end(report);
  }
}
