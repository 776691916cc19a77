import { describe, expect, it } from 'vitest';
import { forwardingProxy } from '~/extension/forwarding-proxy.ts';

class Client {
  user = { $name: 'User' };
  $connect(): string {
    return 'connected';
  }
}

/** A stand-in for Prisma's client: a Proxy that counts its getOwnPropertyDescriptor trap. */
function prismaLike() {
  const counts = { getOwnPropertyDescriptor: 0 };
  const client = new Proxy(new Client(), {
    getOwnPropertyDescriptor(target, property) {
      counts.getOwnPropertyDescriptor++;
      return Reflect.getOwnPropertyDescriptor(target, property);
    },
  });
  return { client, counts };
}

describe('forwardingProxy', () => {
  it("reads through the caller's get, and never runs the real object's getOwnPropertyDescriptor trap to do so", () => {
    const { client, counts } = prismaLike();
    const view = forwardingProxy<Client>(
      () => client,
      (real, property) => Reflect.get(real, property, real),
    );
    expect(view.user).toEqual({ $name: 'User' });
    expect(view.user.$name).toBe('User');
    expect(counts.getOwnPropertyDescriptor).toBe(0);
    // The same read through a Proxy whose target is the client runs the trap (the invariant check).
    const over = new Proxy(client, { get: (target, property) => Reflect.get(target, property, target) });
    void over.user;
    expect(counts.getOwnPropertyDescriptor).toBe(1);
  });

  it('answers in, keys, descriptors, instanceof and assignment as the real object does', () => {
    const { client } = prismaLike();
    const view = forwardingProxy<Client & { extra?: number }>(
      () => client,
      (real, property) => Reflect.get(real, property, real),
    );
    expect('user' in view).toBe(true);
    expect('nothing' in view).toBe(false);
    expect(Object.keys(view)).toEqual(['user']);
    expect(Object.getOwnPropertyDescriptor(view, 'user')).toMatchObject({ value: { $name: 'User' }, configurable: true });
    expect(view).toBeInstanceOf(Client);
    view.extra = 5;
    expect((client as Client & { extra?: number }).extra).toBe(5);
  });

  it('looks the real object up at every use', () => {
    let current = new Client();
    const view = forwardingProxy<Client>(
      () => current,
      (real, property) => Reflect.get(real, property, real),
    );
    const first = view.user;
    current = new Client();
    expect(view.user).not.toBe(first);
  });
});
