import { Worker, isMainThread } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
if (isMainThread) {
  for (let i = 0; i < 2; i++) { const w = new Worker(new URL(import.meta.url)); w.on('message', (m) => console.log('worker', i, m)); w.on('error', (e) => console.log('err', e)); }
} else {
  const { parentPort } = await import('node:worker_threads');
  const jt = (await import('@julusian/jpeg-turbo')).default;
  const r = jt.decompressSync(readFileSync('/tmp/exp/photo.jpg'), { format: jt.FORMAT_GRAY });
  parentPort.postMessage([r.width, r.height, r.data.length]);
}
