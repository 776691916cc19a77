/**
 * The resolver's decisions over stand-in connections that answer as PostgreSQL does
 * (`pg_xact_status`: 'committed' | 'aborted' | 'in progress' | NULL; 42883 on servers < 13;
 * 22023 "transaction ID … is in the future"). The real answers are exercised in
 * test/integration/reliability/lost-commit.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import { createSettleOutcome, type SettleConnection, waitAfterFailedQuestion } from '~/transaction/settle-outcome.ts';

type Answer = string | null | Error;

/** Connections that give `answers` in order (one per question, over all connections); counts opens, ends, statements. */
function server(answers: Answer[], options: { failConnects?: number; hang?: boolean; started?: string } = {}) {
  const log = { connects: 0, ends: 0, statements: [] as string[], values: [] as unknown[] };
  let failConnects = options.failConnects ?? 0;
  const connect = async (): Promise<SettleConnection> => {
    log.connects++;
    if (failConnects > 0) {
      failConnects--;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    }
    return {
      async query(text, values) {
        log.statements.push(text);
        log.values.push(values[0]);
        if (options.hang) return new Promise(() => {});
        const answer = answers.shift();
        if (answer instanceof Error) throw answer;
        return { rows: [{ status: answer ?? null, started: options.started ?? 'T0' }] };
      },
      async end() {
        log.ends++;
      },
    };
  };
  return { connect, log };
}

const pgError = (code: string) => Object.assign(new Error(code), { code });

describe('createSettleOutcome', () => {
  it.each([
    ['committed', 'committed'],
    ['aborted', 'aborted'],
  ] as const)('answers %s at once, on one connection it then closes', async (status, expected) => {
    const { connect, log } = server([status]);
    expect(await createSettleOutcome({ connect })('1234')).toBe(expected);
    expect(log).toMatchObject({
      connects: 1,
      statements: ['SELECT pg_xact_status($1::xid8) AS status, pg_postmaster_start_time()::text AS started'],
      values: ['1234'],
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.ends).toBe(1);
  });

  it('asks again while the transaction is in progress', async () => {
    const { connect, log } = server(['in progress', 'in progress', 'committed']);
    expect(await createSettleOutcome({ connect, intervalMs: 1 })('9')).toBe('committed');
    expect(log.statements).toHaveLength(3);
    expect(log.connects).toBe(1);
  });

  it('in progress past endStuckAfterMs: the backend idle in it is ended once, and the database then decides', async () => {
    // Answers: in progress, (the END_STUCK statement's rows), in progress, aborted.
    const { connect, log } = server(['in progress', 'ended', 'in progress', 'aborted']);
    expect(await createSettleOutcome({ connect, intervalMs: 1, endStuckAfterMs: 0 })('77')).toBe('aborted');
    expect(log.statements.map((s) => s.split(' ')[1])).toEqual([
      'pg_xact_status($1::xid8)',
      'pg_terminate_backend(pid)',
      'pg_xact_status($1::xid8)',
      'pg_xact_status($1::xid8)',
    ]);
    expect(log.statements[1]).toContain("state = 'idle in transaction'");
    expect(log.values[1]).toBe('77');
  });

  describe('a server that restarted (or another one) since the id was given: the id may be reused', () => {
    it.each([
      ['committed on the same server', 'T0', 'committed', 'committed'],
      ["committed on a server started since: unknown (ours or the reuser's)", 'T1', 'committed', 'unknown'],
      ['aborted on a server started since: still aborted (a committed id is never reused)', 'T1', 'aborted', 'aborted'],
    ] as const)('%s', async (_name, started, status, expected) => {
      const { connect } = server([status], { started });
      expect(await createSettleOutcome({ connect })('9', 'T0')).toBe(expected);
    });

    it("in progress there: the backend is never ended (it may be the reuser's)", async () => {
      const { connect, log } = server(['in progress', 'in progress', 'aborted'], { started: 'T1' });
      expect(await createSettleOutcome({ connect, intervalMs: 1, endStuckAfterMs: 0 })('9', 'T0')).toBe('aborted');
      expect(log.statements.some((statement) => statement.includes('pg_terminate_backend'))).toBe(false);
    });

    it('without a known start time (an older record) the answer stands', async () => {
      const { connect } = server(['committed'], { started: 'T1' });
      expect(await createSettleOutcome({ connect })('9')).toBe('committed');
    });
  });

  it('a role not allowed to end the backend (42501) waits on for the answer', async () => {
    const { connect, log } = server(['in progress', pgError('42501'), 'committed']);
    expect(await createSettleOutcome({ connect, intervalMs: 1, endStuckAfterMs: 0 })('78')).toBe('committed');
    expect(log.connects).toBe(1);
  });

  it('still in progress at the bound: unknown', async () => {
    const { connect } = server(new Array(1000).fill('in progress'));
    expect(await createSettleOutcome({ connect, intervalMs: 5, timeoutMs: 30 })('9')).toBe('unknown');
  });

  it('NULL (too old to tell) is unknown', async () => {
    const { connect } = server([null]);
    expect(await createSettleOutcome({ connect })('9')).toBe('unknown');
  });

  it('"in the future" (a transaction this server never had: lost in a failover) is unknown, not asked again', async () => {
    const { connect, log } = server([pgError('22023'), 'committed']);
    expect(await createSettleOutcome({ connect, intervalMs: 1 })('9')).toBe('unknown');
    expect(log.statements).toHaveLength(1);
  });

  it('a server without pg_xact_status (< 13) is asked txid_status, and so is every later question', async () => {
    const { connect, log } = server([pgError('42883'), 'aborted', 'committed']);
    const settle = createSettleOutcome({ connect });
    expect(await settle('9')).toBe('aborted');
    expect(await settle('10')).toBe('committed');
    expect(log.statements).toEqual([
      'SELECT pg_xact_status($1::xid8) AS status, pg_postmaster_start_time()::text AS started',
      'SELECT txid_status($1::bigint) AS status, pg_postmaster_start_time()::text AS started',
      'SELECT txid_status($1::bigint) AS status, pg_postmaster_start_time()::text AS started',
    ]);
  });

  it('a refused connection is tried again on a fresh one within the bound', async () => {
    const { connect, log } = server(['committed'], { failConnects: 2 });
    expect(await createSettleOutcome({ connect, intervalMs: 1 })('9')).toBe('committed');
    expect(log.connects).toBe(3);
  });

  it('a connection lost mid-question is replaced', async () => {
    const { connect, log } = server([new Error('Connection terminated unexpectedly'), 'aborted']);
    expect(await createSettleOutcome({ connect, intervalMs: 1 })('9')).toBe('aborted');
    expect(log.connects).toBe(2);
  });

  it('a question that never answers is unknown at the bound, and its connection is closed', async () => {
    const { connect, log } = server([], { hang: true });
    expect(await createSettleOutcome({ connect, timeoutMs: 20 })('9')).toBe('unknown');
    expect(log.ends).toBe(1);
  });

  it('checks its bounds with the option named', () => {
    const { connect } = server([]);
    expect(() => createSettleOutcome({ connect, timeoutMs: -1 })).toThrow(ConfigError);
    expect(() => createSettleOutcome({ connect, timeoutMs: -1 })).toThrow(/settle\.timeoutMs/);
    expect(() => createSettleOutcome({ connect, intervalMs: Number.NaN })).toThrow(/settle\.intervalMs/);
  });
});

describe('waitAfterFailedQuestion (the wait before the next question, after one without an answer)', () => {
  it('refused at once: waits the backoff, which doubles up to 10 × the interval', () => {
    let backoffMs = 50;
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const next = waitAfterFailedQuestion(0, backoffMs, 50);
      waits.push(next.waitMs);
      backoffMs = next.backoffMs;
    }
    expect(waits).toEqual([50, 100, 200, 400, 500, 500]);
  });

  it('cut after waiting at least the backoff (a pooler KILLing its clients): the next question after the interval, backoff reset', () => {
    // The old rule waited 100, 200, 400, 500 … on top of each cut login: under KILL every 300 ms,
    // every other window between two KILLs went without a question.
    expect(waitAfterFailedQuestion(330, 50, 50)).toEqual({ waitMs: 50, backoffMs: 50 });
    expect(waitAfterFailedQuestion(600, 500, 50)).toEqual({ waitMs: 50, backoffMs: 50 });
  });

  it('cut sooner than the backoff counts as refused', () => {
    expect(waitAfterFailedQuestion(300, 400, 50)).toEqual({ waitMs: 400, backoffMs: 500 });
  });

  it('an interval of 0 never waits, refused or cut (the cap is 10 × 0)', () => {
    expect(waitAfterFailedQuestion(0, 0, 0)).toEqual({ waitMs: 0, backoffMs: 0 });
    expect(waitAfterFailedQuestion(5, 0, 0)).toEqual({ waitMs: 0, backoffMs: 0 });
  });
});
