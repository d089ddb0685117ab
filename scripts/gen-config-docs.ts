/**
 * Writes docs/configuration.md from the config schema. Run: `npm run gen:config-docs`.
 * test/shared/shared.test.ts fails when the committed file differs from this output.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDocs } from '../src/shared/config-docs.js';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
writeFileSync(target, renderConfigurationDocs());
console.log(`gen-config-docs: wrote ${target}`);
