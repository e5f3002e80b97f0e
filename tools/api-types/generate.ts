/**
 * Generates contract/api-types.ts from openapi.yaml (`npm run gen:api-types`). Lives in this
 * workspace because openapi-typescript needs the TypeScript 5 compiler API, which TypeScript 7 lacks.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

const SPEC = new URL('../../openapi.yaml', import.meta.url);
export const API_TYPES_PATH = fileURLToPath(new URL('../../contract/api-types.ts', import.meta.url));

/** The file's content as generation produces it now; the test compares it with the committed one. */
export async function generateApiTypes(): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(SPEC));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(API_TYPES_PATH, await generateApiTypes());
  console.log(`wrote ${API_TYPES_PATH}`);
}
