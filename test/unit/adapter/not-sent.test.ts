import { describe, expect, it } from 'vitest';
import { raiseNotSent, wasNotSent } from '~/adapter/not-sent.ts';

describe('raiseNotSent / wasNotSent', () => {
  it('marks what `raise` throws and rethrows it unchanged', () => {
    const thrown = Object.assign(new Error('Connection terminated unexpectedly'), { name: 'DriverAdapterError' });
    let caught: unknown;
    try {
      raiseNotSent(() => {
        throw thrown;
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(thrown);
    expect(wasNotSent(thrown)).toBe(true);
    // As Prisma raises it: the adapter's error kept as meta.driverAdapterError.
    expect(wasNotSent({ name: 'PrismaClientKnownRequestError', code: 'P2010', meta: { driverAdapterError: thrown } })).toBe(true);
  });

  it('an unmarked lost connection may have been sent', () => {
    expect(wasNotSent(new Error('Connection terminated unexpectedly'))).toBe(false);
  });

  it('a refusal the classifier recognises needs no mark', () => {
    expect(wasNotSent(new Error('no more connections allowed (max_client_conn)'))).toBe(true);
  });
});
