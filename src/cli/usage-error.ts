/**
 * A mistake on the command line: a bad flag, a missing argument. It is a ConfigError (exit
 * code 2) that also knows which command's `--help` to point at.
 * @module
 */
import { ConfigError } from '../errors.js';

export class UsageError extends ConfigError {
  /** The command whose usage applies, e.g. `chat`; undefined for the top level. */
  readonly command: string | undefined;
  constructor(message: string, options: { setting?: string; command?: string } = {}) {
    super(message, options.setting);
    this.command = options.command;
  }
}
