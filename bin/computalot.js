#!/usr/bin/env node
// The `computalot` command. TypeScript runs through tsx's ESM loader, so a fresh
// clone needs no build step: `npm ci && npx computalot dev`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
