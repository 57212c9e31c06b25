import { runBackendConformance } from '../../testing/conformance.js';
import { createLocalBackend } from './local-backend.js';

runBackendConformance('local (tiny model)', () => createLocalBackend({ sequences: 2 }));
