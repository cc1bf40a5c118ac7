// `npm run docs`: regenerates the README's generated sections (the fault
// matrix, the profile table, the command reference). tests/unit/readme.test.ts fails while README.md is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withFaultMatrix } from './fault-matrix.js';
import { withCliReference } from './cli-reference.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const before = readFileSync(README, 'utf8');
const after = withCliReference(withFaultMatrix(before));
writeFileSync(README, after);
console.log(before === after ? 'README.md is up to date' : 'README.md: generated sections regenerated');
