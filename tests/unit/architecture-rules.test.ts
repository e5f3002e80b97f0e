/** The committed dependency rules (.dependency-cruiser.cjs) refuse an upward import and a circle, and let a downward one pass. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEPCRUISE = path.join(REPO, 'node_modules', '.bin', 'depcruise');
const RULES = path.join(REPO, '.dependency-cruiser.cjs');

/** Runs depcruise with the committed rules in a scratch tree laid out like the repository's, so src/ is never touched. */
function cruise(cwd: string, ...files: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(DEPCRUISE, ['--config', RULES, ...files], { cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('the architecture rules', () => {
  let tree: string;
  beforeAll(async () => {
    tree = await mkdtemp(path.join(tmpdir(), 'vsc-depcruise-'));
    const files: Record<string, string> = {
      'src/kernel/errors.ts': 'export const E = 1;\n',
      'src/api/health.ts': "import { E } from '../kernel/errors.ts';\nexport const H = E;\n",
      'src/processing/down.ts': "import { E } from '../kernel/errors.ts';\nexport const D = E;\n",
      'src/processing/upward.ts': "import { H } from '../api/health.ts';\nexport const U = H;\n",
      'src/storage/a.ts': "import { B } from './b.ts';\nexport const A = 1;\nexport const AB = B;\n",
      'src/storage/b.ts': "import { A } from './a.ts';\nexport const B = A;\n",
      'client/main.ts': "import { D } from '../src/processing/down.ts';\nexport const M = D;\n",
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(tree, name)), { recursive: true });
      await writeFile(path.join(tree, name), text);
    }
  });
  afterAll(() => rm(tree, { recursive: true, force: true }));

  it('passes imports that point down', async () => {
    expect(await cruise(tree, 'src/processing/down.ts', 'src/api/health.ts')).toMatchObject({ code: 0 });
  });

  it('fails on processing importing the HTTP layer, naming the rule', async () => {
    const { code, out } = await cruise(tree, 'src/processing/upward.ts');
    expect(code).not.toBe(0);
    expect(out).toContain('processing-imports-only-kernel');
    expect(out).toContain('api-is-http-only');
  });

  it('fails on a circle', async () => {
    const { code, out } = await cruise(tree, 'src/storage/a.ts');
    expect(code).not.toBe(0);
    expect(out).toContain('no-circular');
  });

  it('fails on the client importing the service', async () => {
    const { code, out } = await cruise(tree, 'client/main.ts');
    expect(code).not.toBe(0);
    expect(out).toContain('client-imports-only-contract');
  });
});
