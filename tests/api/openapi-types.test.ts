import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { API_TYPES_PATH, generateApiTypes } from '../../tools/api-types/generate.ts';

describe('contract/api-types.ts', () => {
  it('is what openapi-typescript generates from openapi.yaml now (run `npm run gen:api-types` after changing it)', async () => {
    expect(await readFile(API_TYPES_PATH, 'utf8')).toBe(await generateApiTypes());
  });
});
