/**
 * The local backend's one builder of a refused request: a BadRequestError (400) whose body is
 * an `invalid_request_error` naming the parameter, as Azure and OpenAI answer.
 * @module
 */
import { BadRequestError } from '../../errors.js';
import { errorBody } from '../../protocol/error-body.js';

/**
 * @example
 * throw badRequest('tool_choice', "'tool_choice' names a function that is not in 'tools'.");
 */
export function badRequest(param: string | null, message: string, code = 'invalid_value'): BadRequestError {
  return new BadRequestError(message, {
    status: 400,
    body: errorBody(code, message, { type: 'invalid_request_error', param }),
  });
}
