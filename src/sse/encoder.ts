/**
 * The other direction: events and comments to `text/event-stream` text. Encode the result
 * as UTF-8 (e.g. `TextEncoder`) to send it; lone surrogates then become U+FFFD.
 * @module
 */

/** An event to send. */
export interface SseOutgoingEvent {
  /** Any text; CR, LF and CRLF in it become separate `data` lines, which the receiver joins with LF. */
  data: string;
  /** Event type; omitted when undefined or empty (the receiver then sees `message`). No line breaks. */
  event?: string;
  /** Sets the receiver's last event ID. No line breaks, no NULL. */
  id?: string;
  /** Reconnection delay for the receiver, in ms (a whole number >= 0). */
  retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Encodes one event, ending with its blank line.
 *
 * @throws TypeError when `event` or `id` contains CR or LF, `id` contains NULL, or `retry`
 *   is not a whole number >= 0: such an event cannot be represented on the wire.
 *
 * @example
 * ```ts
 * import { encodeEvent } from 'sluice/sse';
 *
 * encodeEvent({ event: 'update', id: '7', data: 'line 1\nline 2' });
 * // 'event: update\nid: 7\ndata: line 1\ndata: line 2\n\n'
 * ```
 */
export function encodeEvent(event: SseOutgoingEvent): string {
  let out = '';
  if (event.event !== undefined && event.event !== '') {
    if (LINE_BREAK.test(event.event)) throw new TypeError('An SSE event type cannot contain CR or LF');
    out += `event: ${event.event}\n`;
  }
  if (event.id !== undefined) {
    if (LINE_BREAK.test(event.id)) throw new TypeError('An SSE id cannot contain CR or LF');
    if (event.id.includes('\0')) throw new TypeError('An SSE id cannot contain NULL (receivers ignore such ids)');
    out += `id: ${event.id}\n`;
  }
  if (event.retry !== undefined) {
    if (!Number.isSafeInteger(event.retry) || event.retry < 0) {
      throw new TypeError(`SSE retry must be a whole number of ms >= 0, got ${String(event.retry)}`);
    }
    out += `retry: ${event.retry}\n`;
  }
  for (const line of event.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * Encodes a comment, which receivers ignore: a heartbeat that keeps idle proxies and load
 * balancers from closing the connection. Line breaks in `text` become several comment lines.
 *
 * @example
 * ```ts
 * encodeComment('ping'); // ': ping\n\n'
 * encodeComment(); // ':\n\n'
 * ```
 */
export function encodeComment(text = ''): string {
  if (text === '') return ':\n\n';
  let out = '';
  for (const line of text.split(LINE_BREAK)) out += line === '' ? ':\n' : `: ${line}\n`;
  return `${out}\n`;
}

/**
 * Fast path for the common event: one `data` line and its blank line. `json` must hold no
 * CR or LF — true of anything `JSON.stringify` returns, which escapes them — and is not checked.
 *
 * @example
 * ```ts
 * encodeData(JSON.stringify({ a: 1 })); // 'data: {"a":1}\n\n'
 * encodeData('[DONE]'); // 'data: [DONE]\n\n'
 * ```
 */
export function encodeData(json: string): string {
  return `data: ${json}\n\n`;
}
