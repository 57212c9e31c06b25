/**
 * What went wrong with the log database, in one line for stderr: what happened, where, and
 * what to do. SQLite's and the file system's error codes are read here and nowhere else.
 * @module
 */

/** Why the log could not be used. */
export type LogProblemKind = 'locked' | 'corrupt' | 'read-only' | 'newer' | 'other';

/**
 * Classifies an error thrown while opening, reading or writing the log.
 * @example
 * logProblemKind({ code: 'SQLITE_BUSY' }) // 'locked'
 */
export function logProblemKind(error: unknown): LogProblemKind {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'locked';
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) return 'corrupt';
  if (
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_PERM') ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    code === 'EROFS'
  ) {
    return 'read-only';
  }
  if (code === 'SLUICE_LOG_NEWER_SCHEMA') return 'newer';
  return 'other';
}

/**
 * The one line: `<what happened to whom>: the log database PATH <problem>; <what to do>.`
 * `doing` says what was not done ("this exchange was not logged").
 * @example
 * describeLogProblem({ code: 'SQLITE_BUSY' }, '/d/logs.db', 'this exchange was not logged')
 * // 'sluice: this exchange was not logged: the log database /d/logs.db is locked by another program; ...'
 */
export function describeLogProblem(error: unknown, path: string, doing: string): string {
  const off = 'or stop logging with "sluice logs off" (or --no-log)';
  const what = ((): string => {
    switch (logProblemKind(error)) {
      case 'locked':
        return `is locked by another program (another sluice?); try again once it is done, ${off}`;
      case 'corrupt':
        return `is damaged or not a SQLite database; move it away (a new one is started), ${off}`;
      case 'read-only':
        return `cannot be written (permissions, or a read-only disk); let your user write the file and its folder, or set SLUICE_LOG_DB to another file, ${off}`;
      case 'newer':
        return `was written by a newer Sluice; upgrade Sluice, or set SLUICE_LOG_DB to another file, ${off}`;
      default:
        return `cannot be used (${oneLine(error)}); ${off}`;
    }
  })();
  return `sluice: ${doing}: the log database ${path} ${what}.`;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? message).slice(0, 200);
}
