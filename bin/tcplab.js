#!/usr/bin/env node
// Signals first: a Ctrl-C during start-up exits 130 at once; during a run it tears the run down.
const { installInterruptHandlers } = await import('../dist/cli/interrupt.js');
installInterruptHandlers();
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv);
