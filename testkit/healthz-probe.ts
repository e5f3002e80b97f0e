/**
 * Samples GET /healthz every 250 ms for a while and prints each answer time (ms) as a JSON array.
 * Its own process, so the load generator's event loop does not add to what it measures.
 *
 *   npx tsx testkit/healthz-probe.ts http://127.0.0.1:8080 60000
 */
const [url, durationMs] = process.argv.slice(2);
const deadline = Date.now() + Number(durationMs);
const times: number[] = [];
while (Date.now() < deadline) {
  const t0 = performance.now();
  const res = await fetch(`${url}/healthz`);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  times.push(performance.now() - t0);
  await new Promise((resolve) => setTimeout(resolve, 250));
}
process.stdout.write(JSON.stringify(times));
