/**
 * Pins what src/adapter/implicit-write.ts assumes of node-postgres' Query (lib/query.js): pg's own
 * `prepare` writes Parse/Bind/Describe/Execute then `sync()`, answers accumulate in `_result`, and a
 * second CommandComplete starts a second result. Driven by a connection that records the protocol
 * writes and by the messages pg's parser hands a query (no database: the integration side is
 * test/integration/extension/implicit-write.test.ts).
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { type ImplicitWriteQuery, implicitWriteSupported, newImplicitWriteQuery } from '~/adapter/implicit-write.ts';

function recordingConnection() {
  const sent: string[] = [];
  const connection = {
    parsedStatements: {} as Record<string, string>,
    submittedNamedStatements: {} as Record<string, string>,
    stream: { cork() {}, uncork() {} },
    parse: (m: { text: string; name?: string }) => sent.push(`parse ${m.name ?? ''}:${m.text}`),
    bind: (m: { values: unknown[]; valueMapper?: (v: unknown) => unknown }) =>
      sent.push(`bind ${JSON.stringify(m.values.map((v) => (m.valueMapper ? m.valueMapper(v) : v)))}`),
    describe: () => sent.push('describe'),
    execute: () => sent.push('execute'),
    close: () => sent.push('close'),
    flush: () => sent.push('flush'),
    sync: () => sent.push('sync'),
  };
  return { sent, connection };
}

/** The handlers pg's client calls on the active query, which pg's typings leave out. */
const fed = (query: ImplicitWriteQuery) =>
  query as unknown as { handleRowDescription(message: unknown): void; handleDataRow(message: unknown): void };

const field = (name: string, dataTypeID: number) => ({ name, dataTypeID, format: 'text' });
const ID = 'SELECT pg_current_xact_id()::text AS id';
const INSERT = { text: 'INSERT INTO t (v) VALUES ($1) RETURNING v', values: ['x'], rowMode: 'array' as const };

/** What pg's client does with a query's answers, in order. */
function answer(query: ImplicitWriteQuery, connection: unknown, statementRows: unknown[][]): void {
  fed(query).handleRowDescription({ fields: [field('id', 25), field('started', 25)] });
  fed(query).handleDataRow({ fields: ['771', '2026-12-06 20:00:00+00'] });
  query.handleCommandComplete({ text: 'SELECT 1' }, connection);
  fed(query).handleRowDescription({ fields: [field('v', 25)] });
  for (const row of statementRows) fed(query).handleDataRow({ fields: row });
  query.handleCommandComplete({ text: `INSERT 0 ${statementRows.length}` }, connection);
}

describe("pg's Query, as an implicit-transaction write uses it", () => {
  it('the installed pg has what the write overrides and reads', () => {
    expect(implicitWriteSupported(pg.Query)).toBe(true);
    expect(implicitWriteSupported(class {})).toBe(false);
    expect(implicitWriteSupported(undefined)).toBe(false);
  });

  it('is a pg Query (pipeline mode refuses any other submittable)', () => {
    expect(newImplicitWriteQuery(INSERT, ID)).toBeInstanceOf(pg.Query);
  });

  it('writes the id question and the statement, then Flush, and no Sync until asked', () => {
    const { sent, connection } = recordingConnection();
    const query = newImplicitWriteQuery(INSERT, ID);
    expect(query.submit(connection as never)).toBeNull();
    expect(sent).toEqual([
      `parse :${ID}`,
      'bind []',
      'describe',
      'execute',
      `parse :${INSERT.text}`,
      'bind ["x"]',
      'describe',
      'execute',
      'flush',
    ]);
    query.sync();
    query.sync();
    expect(sent.filter((m) => m === 'sync')).toHaveLength(1);
  });

  it('a named statement already parsed on the connection is bound, not parsed again (pg decides, as for its own queries)', () => {
    const { sent, connection } = recordingConnection();
    connection.parsedStatements.s1 = INSERT.text;
    newImplicitWriteQuery({ ...INSERT, name: 's1' }, ID).submit(connection as never);
    expect(sent.filter((m) => m.startsWith('parse'))).toEqual([`parse :${ID}`]);
  });

  describe("a named statement parsed by this write (pg records the name at the first ParseComplete: the id question's)", () => {
    /** A connection that emits parseComplete as pg's does, and marks the name as pg's client does on it. */
    function namedConnection(name: string, text: string) {
      const recorded = recordingConnection();
      const events = new EventEmitter();
      const connection = Object.assign(recorded.connection, {
        on: (event: string, listener: () => void) => events.on(event, listener),
        removeListener: (event: string, listener: () => void) => events.removeListener(event, listener),
      });
      events.on('parseComplete', () => {
        connection.parsedStatements[name] = text;
      });
      return { connection, parseComplete: () => events.emit('parseComplete'), listeners: () => events.listenerCount('parseComplete') };
    }

    it('its own Parse failed: the name is forgotten, so pg parses it again next time', async () => {
      const { connection, parseComplete, listeners } = namedConnection('s1', INSERT.text);
      const query = newImplicitWriteQuery({ ...INSERT, name: 's1' }, ID);
      query.submit(connection as never);
      expect(listeners()).toBe(2);
      parseComplete(); // the id question's
      query.handleError(new pg.DatabaseError('relation "t" does not exist', 0, 'error'), connection);
      await expect(query.statement).rejects.toThrow('does not exist');
      expect(connection.parsedStatements.s1).toBeUndefined();
      expect(listeners()).toBe(1);
    });

    it('its own Parse was answered: the name stays parsed, even when the statement then fails', async () => {
      const { connection, parseComplete, listeners } = namedConnection('s1', INSERT.text);
      const query = newImplicitWriteQuery({ ...INSERT, name: 's1' }, ID);
      query.submit(connection as never);
      parseComplete();
      parseComplete();
      expect(listeners()).toBe(1);
      query.handleError(new pg.DatabaseError('duplicate key', 0, 'error'), connection);
      await expect(query.statement).rejects.toThrow('duplicate key');
      expect(connection.parsedStatements.s1).toBe(INSERT.text);
    });
  });

  it('a Flush after the id question too when its answer must come first (a deadline on it)', () => {
    const { sent, connection } = recordingConnection();
    newImplicitWriteQuery(INSERT, ID, { flushId: true }).submit(connection as never);
    expect(sent.indexOf('flush')).toBe(4);
  });

  it("one flight ('one-flight'): the id question flushed, then the statement and its Sync, nothing after", () => {
    const { sent, connection } = recordingConnection();
    const query = newImplicitWriteQuery(INSERT, ID, { flushId: true, syncWithStatement: true });
    query.submit(connection as never);
    expect(sent).toEqual([
      `parse :${ID}`,
      'bind []',
      'describe',
      'execute',
      'flush',
      `parse :${INSERT.text}`,
      'bind ["x"]',
      'describe',
      'execute',
      'sync',
    ]);
    expect(query.synced).toBe(true);
    query.sync();
    expect(sent.filter((m) => m === 'sync')).toHaveLength(1);
  });

  it('the id is told as soon as its answer arrives, before the statement answers', () => {
    const { connection } = recordingConnection();
    const ids: (readonly unknown[])[] = [];
    const query = newImplicitWriteQuery(INSERT, ID, { onId: (row) => ids.push(row) });
    query.submit(connection as never);
    fed(query).handleRowDescription({ fields: [field('id', 25), field('started', 25)] });
    fed(query).handleDataRow({ fields: ['9', 'then'] });
    query.handleCommandComplete({ text: 'SELECT 1' }, connection);
    expect(ids).toEqual([['9', 'then']]);
  });

  it('the statement settles with its own result, the id row apart; the end waits for ReadyForQuery', async () => {
    const { connection } = recordingConnection();
    const query = newImplicitWriteQuery(INSERT, ID);
    query.submit(connection as never);
    let ended = false;
    void query.ended.then(() => {
      ended = true;
    });
    answer(query, connection, [['x']]);
    const result = await query.statement;
    expect(result.rows).toEqual([['x']]);
    expect(result.command).toBe('INSERT');
    expect(query.idRow).toEqual(['771', '2026-12-06 20:00:00+00']);
    await Promise.resolve();
    expect(ended).toBe(false);
    query.handleReadyForQuery();
    await expect(query.ended).resolves.toBeUndefined();
  });

  it('a statement without rows (no RowDescription) still settles with its own result', async () => {
    const { connection } = recordingConnection();
    const query = newImplicitWriteQuery({ text: 'DELETE FROM t', values: [] }, ID);
    query.submit(connection as never);
    fed(query).handleRowDescription({ fields: [field('id', 25), field('started', 25)] });
    fed(query).handleDataRow({ fields: ['5', 's'] });
    query.handleCommandComplete({ text: 'SELECT 1' }, connection);
    query.handleCommandComplete({ text: 'DELETE 3' }, connection);
    const result = await query.statement;
    expect(result.rowCount).toBe(3);
    expect(query.idRow).toEqual(['5', 's']);
  });

  it("a server error fails the statement and the end, and sends the Sync the server now waits for; 'error' and 'end' reach watchers", async () => {
    const { sent, connection } = recordingConnection();
    const query = newImplicitWriteQuery(INSERT, ID);
    const events: string[] = [];
    query.on('error', () => events.push('error'));
    query.on('end', () => events.push('end'));
    query.submit(connection as never);
    const error = new pg.DatabaseError('duplicate key', 0, 'error');
    query.handleError(error, connection);
    await expect(query.statement).rejects.toBe(error);
    expect(sent.at(-1)).toBe('sync');
    await expect(query.ended).rejects.toBe(error);
    // The server answers that Sync: the connection stays fit for the pool.
    expect(query.serverAnswered).toBe(true);
    query.handleReadyForQuery();
    expect(events).toEqual(['error', 'end']);
  });

  it('a lost connection sends no Sync on it, and fails both', async () => {
    const { sent, connection } = recordingConnection();
    const query = newImplicitWriteQuery(INSERT, ID);
    query.submit(connection as never);
    query.handleError(new Error('Connection terminated unexpectedly'), connection);
    await expect(query.statement).rejects.toThrow('terminated');
    await expect(query.ended).rejects.toThrow('terminated');
    expect(sent).not.toContain('sync');
    expect(query.serverAnswered).toBe(false);
  });

  it('a value pg cannot bind fails the statement at once; the Sync ends what was sent', async () => {
    const { sent, connection } = recordingConnection();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const query = newImplicitWriteQuery({ text: 'INSERT INTO t (v) VALUES ($1)', values: [cyclic] }, ID);
    query.submit(connection as never);
    await expect(query.statement).rejects.toThrow();
    expect(sent).toContain('sync');
    expect(sent).toContain('close');
  });

  it('a row pg cannot parse fails the statement (the write is then rolled back, not committed)', async () => {
    const { connection } = recordingConnection();
    const broken = {
      ...INSERT,
      types: {
        getTypeParser: () => () => {
          throw new Error('unparsable');
        },
      },
    };
    const query = newImplicitWriteQuery(broken, ID);
    query.submit(connection as never);
    fed(query).handleRowDescription({ fields: [field('id', 25), field('started', 25)] });
    query.handleCommandComplete({ text: 'SELECT 0' }, connection);
    fed(query).handleRowDescription({ fields: [field('v', 25)] });
    fed(query).handleDataRow({ fields: ['x'] });
    query.handleCommandComplete({ text: 'INSERT 0 1' }, connection);
    await expect(query.statement).rejects.toThrow('unparsable');
    expect(query.synced).toBe(false);
  });
});
