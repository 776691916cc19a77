/** Registers the hook that disconnects every manager a test file tracks: after each test, or after the file. */
import { afterAll, afterEach } from 'vitest';

export function managerTracker(when: 'each' | 'all' = 'all'): <M extends { disconnect(): Promise<void> }>(manager: M) => M {
  const managers: { disconnect(): Promise<void> }[] = [];
  const disconnectAll = async () => {
    await Promise.all(managers.splice(0).map((m) => m.disconnect()));
  };
  if (when === 'each') afterEach(disconnectAll);
  else afterAll(disconnectAll);
  return (manager) => {
    managers.push(manager);
    return manager;
  };
}
