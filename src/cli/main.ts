#!/usr/bin/env node
// podwire's entry point. The signal handlers are installed before anything
// else is loaded, so a Ctrl-C at any moment after Node started exits 130
// (143 for SIGTERM) and cleans up what was made; then the CLI proper
// (src/cli/cli.ts) is loaded and runs.
import { installInterruptHandlers } from './signals.js';

installInterruptHandlers();
await import('./cli.js');
