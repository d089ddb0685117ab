#!/usr/bin/env -S node --max-semi-space-size=32 --min-semi-space-size=32
// The `computalot` command. TypeScript runs through tsx's ESM loader, so a fresh
// clone needs no build step: `npm ci && npx computalot dev`.
//
// A young generation of 32 MB semi-spaces from the start (V8's default grows
// from 1 MB to 16 MB): a busy controller allocates about 50 KB per task, and
// what a task holds between its dispatch and its result (tens of ms) survived
// the default's scavenges and was promoted, to die in the old generation.
// Measured with bench/e2e-noop (`--skip-bullmq`, alternating runs): about 7%
// less controller CPU per task and 5% more tasks/s. Benches run with the same
// flags (package.json). Started as `node bin/computalot.js`, the flags are not
// applied; everything still works.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
