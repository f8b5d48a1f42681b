import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { LabError } from './lab-error.js';
import { MAX_LAB_FILE_BYTES } from './lab-limits.js';

/**
 * Reads a lab file's text, refusing quickly and without echoing its content what cannot be a lab:
 * a directory, a device or FIFO, a file over MAX_LAB_FILE_BYTES (read no further than that, so
 * /dev/zero or a growing /proc file cannot hold us), or a binary file (a NUL byte or invalid UTF-8).
 */
export async function readLabFileText(path: string): Promise<string> {
  const refuse = (message: string): LabError => new LabError([{ file: path, line: 1, col: 1, path: '(document)', message }]);
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below)
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reasons: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory' };
    const reason = reasons[code ?? ''] ?? code ?? 'unreadable';
    throw refuse(`cannot read lab file: ${reason}; check the path`);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw refuse('this is a directory, not a lab file; give a .yaml file or a lab name (tcplab list)');
    if (!stat.isFile()) throw refuse('this is not a regular file (a device, FIFO or socket); give a .yaml lab file');
    if (stat.size > MAX_LAB_FILE_BYTES) {
      throw refuse(`the file has ${stat.size} bytes, more than a lab file may have (${MAX_LAB_FILE_BYTES}); is it the right file?`);
    }
    // /proc files report size 0: read at most one byte more than allowed, whatever stat said
    const buffer = Buffer.alloc(MAX_LAB_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw refuse(`the file has more than ${MAX_LAB_FILE_BYTES} bytes, more than a lab file may have; is it the right file?`);
    }
    return decodeLabText(buffer.subarray(0, length), refuse);
  } finally {
    await handle.close();
  }
}

function decodeLabText(bytes: Buffer, refuse: (message: string) => LabError): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw refuse(`this is a binary file (a NUL byte at offset ${nul}), not a lab file; a lab file is YAML text`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw refuse('this is not UTF-8 text, so not a lab file; a lab file is YAML text in UTF-8');
  }
}
