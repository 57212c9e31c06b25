#!/usr/bin/env node
// The `sluice` command: all logic lives in src/cli (compiled to dist/cli); this file only
// hands it argv and the process's IO, and sets the exit code it returns.
import { main, nodeIO } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2), nodeIO());
