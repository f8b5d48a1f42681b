import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The installed tcplab package (holds labs/, docker/, dist/). Compiled to dist/package-root.js. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
