import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { userConfigPath } from '../user/user-config.js';
import { logDatabasePath, loggingEnabled, setLogging } from './location.js';

describe('where the log lives', () => {
  it('SLUICE_LOG_DB, else $XDG_DATA_HOME/sluice/logs.db, else ~/.local/share; a relative XDG path is ignored', () => {
    assert.equal(logDatabasePath({ SLUICE_LOG_DB: '/x/l.db', XDG_DATA_HOME: '/d', HOME: '/h' }), '/x/l.db');
    assert.equal(logDatabasePath({ XDG_DATA_HOME: '/d', HOME: '/h' }), '/d/sluice/logs.db');
    assert.equal(logDatabasePath({ XDG_DATA_HOME: 'rel', HOME: '/h' }), '/h/.local/share/sluice/logs.db');
    assert.equal(logDatabasePath({}), undefined);
    assert.equal(userConfigPath({ HOME: '/h' }), '/h/.config/sluice/config.json');
    assert.equal(userConfigPath({ XDG_CONFIG_HOME: '/c', HOME: '/h' }), '/c/sluice/config.json');
  });
});

describe('the log setting (config.json, key "log")', () => {
  const env = () => ({ XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'sluice-config-')) });

  it('on by default; off and on again, keeping the other keys, file mode 0600', () => {
    const e = env();
    assert.equal(loggingEnabled(e), true);
    const file = setLogging(e, false);
    assert.equal(loggingEnabled(e), false);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    writeFileSync(file, '{"model": "gpt-4o", "__proto__": {"polluted": true}, "log": false}');
    setLogging(e, true);
    assert.equal(loggingEnabled(e), true);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      model: 'gpt-4o',
      ['__proto__']: { polluted: true },
      log: true,
    });
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  it('a file that is not a JSON object is never overwritten (and does not turn logging off)', () => {
    const e = env();
    const file = join(e.XDG_CONFIG_HOME, 'sluice', 'config.json');
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'log = false # not JSON');
    assert.equal(loggingEnabled(e), true);
    assert.throws(() => setLogging(e, false), /is not a JSON object: fix it or move it away/);
    assert.equal(readFileSync(file, 'utf8'), 'log = false # not JSON');
  });
});
