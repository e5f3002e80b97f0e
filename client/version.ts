import { readFileSync } from 'node:fs';

/** The package version, printed by --version and sent as the capturing app's version. */
export const CLI_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
