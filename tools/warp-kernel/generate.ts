/**
 * Generates src/processing/warp-kernel.wasm.ts from src/processing/warp-kernel.wat (`npm run gen:warp-kernel`):
 * the WebAssembly bytes as base64, so the service needs no compiler at run time.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import initWabt from 'wabt';

const SOURCE = new URL('../../src/processing/warp-kernel.wat', import.meta.url);
export const WARP_KERNEL_PATH = fileURLToPath(new URL('../../src/processing/warp-kernel.wasm.ts', import.meta.url));

/** The file's content as generation produces it now; the test compares it with the committed one. */
export async function generateWarpKernel(): Promise<string> {
  const wabt = await initWabt();
  const module = wabt.parseWat('warp-kernel.wat', await readFile(SOURCE, 'utf8'));
  const bytes = Buffer.from(module.toBinary({}).buffer).toString('base64');
  module.destroy();
  return `/** Generated from warp-kernel.wat by \`npm run gen:warp-kernel\`: do not edit. */\nexport const warpKernelWasm = '${bytes}';\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(WARP_KERNEL_PATH, await generateWarpKernel());
  console.log(`wrote ${WARP_KERNEL_PATH}`);
}
