#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (a runtime dependency), so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../client/main.ts');
process.exitCode = await main(process.argv.slice(2));
