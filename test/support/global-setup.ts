/**
 * Starts the one shared local stack for the integration project and hands its URLs to the
 * tests through `inject('stack')`. A stack that cannot start fails the run: integration tests
 * are never skipped.
 */
import type { TestProject } from 'vitest/node';
import { startStack } from '../../tools/stack/start-stack.ts';

export interface StackInfo {
  directUrl: string;
  poolerUrl: string;
  adminUrl: string;
  superuserUrl: string;
  poolerPort: number;
  postgresPort: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stack = await startStack({ log: (line) => process.stderr.write(`${line}\n`) });
  project.provide('stack', {
    directUrl: stack.directUrl,
    poolerUrl: stack.poolerUrl,
    adminUrl: stack.adminUrl,
    superuserUrl: stack.superuserUrl,
    poolerPort: stack.poolerPort,
    postgresPort: stack.postgresPort,
  });
  return () => stack.stop();
}
