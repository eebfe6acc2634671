#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli (compiled to dist by `npm install` via the prepare script).
import { main } from '../dist/src/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`adv2: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
