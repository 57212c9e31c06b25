#!/usr/bin/env -S node --no-memory-reducer
// The `sluice` command: all logic lives in src/cli (compiled to dist/cli); this file only
// hands it argv and the process's IO, and sets the exit code it returns.
//
// `--no-memory-reducer`: V8 otherwise shrinks an idle process's heap, and the burst after a
// quiet spell pays to grow it again; a gateway's first tokens after a pause waited for that
// (docs/gateway.md, Round 17). A short command never idles long enough to notice. Node
// accepts the flag only on its command line (not in NODE_OPTIONS), hence `env -S`.
import { main, nodeIO } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), nodeIO());
