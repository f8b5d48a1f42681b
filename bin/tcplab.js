#!/usr/bin/env node
// Signals first: a Ctrl-C during start-up exits 130 at once; during a run it tears the run down.
const built = await import('../dist/cli/interrupt.js').catch((err) => {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  process.stderr.write('tcplab is not built in this checkout: run `npm ci` (or `npm run build`) in its folder first\n');
  process.exit(2);
});
built.installInterruptHandlers();
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(process.argv);
