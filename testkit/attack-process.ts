/**
 * The attacks of bench/dos.ts in a process of their own (testkit/child-task.ts), so building and
 * sending them does not delay the benchmark's victim or the service's /healthz probe: `attackApart`
 * forks this file, which prepares the attack (e.g. builds the bomb's body once) before it is ready.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { jpegWithMarker, newMarker } from './capture-fixtures.ts';
import { serveTask, startTask, type ChildTask } from './child-task.ts';
import { endlessHeaders, metadataBomb, sendMetadataBomb, slowCapture, type Answer } from './dos-attacks.ts';

/** Requests the attack made, by answer ('closed': the connection closed without one). */
export type Outcomes = Record<string, number>;

type Round = () => Promise<Answer>;

/** Each attack: how many connections it keeps busy, and one round of one of them. */
const ATTACKS = {
  /** 6 trickling captures of one user at 200 B/s, each reopened when cut. */
  'slow-bodies': async (url: string, token: string) => ({ connections: 6, round: () => slowCapture(url, token, { length: 2 ** 20, bytesPerSecond: 200 }).answer }),
  /** 50 connections whose headers never end, each reopened when closed. */
  'endless-headers': async (url: string) => ({ connections: 50, round: () => endlessHeaders(url) }),
  /** One capture after another whose metadata part is 10 MB of nested arrays. */
  'metadata-bombs': async (url: string, token: string) => {
    const bomb = metadataBomb(await jpegWithMarker(newMarker(), 1600, 1200));
    return { connections: 1, round: () => sendMetadataBomb(url, token, bomb) };
  },
} satisfies Record<string, (url: string, token: string) => Promise<{ connections: number; round: Round }>>;

export type AttackName = keyof typeof ATTACKS;

/** Starts `attack` on `baseUrl` as `token`'s user in a child process; resolves once it runs. `stop()` waits for every connection's current round. */
export function attackApart(attack: AttackName, baseUrl: string, token: string): Promise<ChildTask<Outcomes>> {
  return startTask<Outcomes>(fileURLToPath(import.meta.url), [attack, baseUrl, token]);
}

async function repeat(round: Round, going: () => boolean, outcomes: Outcomes): Promise<void> {
  while (going()) {
    const { status, code } = await round();
    const key = code ? `${status} ${code}` : String(status);
    outcomes[key] = (outcomes[key] ?? 0) + 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [attack, baseUrl, token] = process.argv.slice(2) as [AttackName, string, string];
  await serveTask(async () => {
    const { connections, round } = await ATTACKS[attack](baseUrl, token);
    return async (going) => {
      const outcomes: Outcomes = {};
      await Promise.all(Array.from({ length: connections }, () => repeat(round, going, outcomes)));
      return outcomes;
    };
  });
}
