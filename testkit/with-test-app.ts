/** A describe block's test app: started before its tests with development tokens for the users it names, closed after them. */
import type { Express } from 'express';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from './test-app.ts';

export type TestUser = Parameters<TestApp['token']>[0];

export interface TestAppSetup<U extends string, A> {
  env?: Record<string, string>;
  options?: TestAppOptions;
  /** The callers the tests act as, by the name they use for them; each gets a development token. */
  users?: Record<U, TestUser>;
  /** Wraps the app in the request agent the tests use (passed in: testkit/ does not import tests/). */
  agent?: (app: Express) => A;
}

/** The running app (read its members inside hooks and tests), its agent and the users' tokens. */
export interface StartedTestApp<U extends string, A> extends Omit<TestApp, 'close'> {
  api: A;
  tokens: Record<U, string>;
}

/** Registers beforeAll (start, mint tokens) and afterAll (close); call it at the top of a describe block. */
export function withTestApp<U extends string = never, A = undefined>(setup: TestAppSetup<U, A> = {}): StartedTestApp<U, A> {
  let app: TestApp | undefined;
  let api: A | undefined;
  let tokens: Record<U, string> | undefined;
  beforeAll(async () => {
    app = await startTestApp(setup.env, setup.options);
    api = setup.agent?.(app.app);
    tokens = await tokensFor(app, setup.users ?? ({} as Record<U, TestUser>));
  });
  afterAll(() => app?.close());
  const started = (): TestApp => app ?? fail('the test app starts in beforeAll; read it inside a hook or test');
  return {
    get app() { return started().app; },
    get deps() { return started().deps; },
    get dataDir() { return started().dataDir; },
    get databaseUrl() { return started().databaseUrl; },
    get logs() { return started().logs; },
    token: (request) => started().token(request),
    get api() { return started() && (api as A); },
    get tokens() { return started() && tokens!; },
  };
}

/** One development token per named user, in the order they are named. */
export async function tokensFor<U extends string>(app: Pick<TestApp, 'token'>, users: Record<U, TestUser>): Promise<Record<U, string>> {
  const tokens = {} as Record<U, string>;
  for (const [name, user] of Object.entries(users) as Array<[U, TestUser]>) tokens[name] = await app.token(user);
  return tokens;
}

function fail(message: string): never {
  throw new Error(message);
}
