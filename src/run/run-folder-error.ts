/**
 * A damaged run folder: which file, where in it (line and/or byte offset) and what is wrong. The CLI
 * prints it as one line and exits 2 (bad input): the folder, not tcplab, is at fault. Never quotes content.
 */
export class RunFolderError extends Error {
  override readonly name = 'RunFolderError';
  constructor(
    readonly file: string,
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${file}${where}: ${problem}; the run folder is damaged, run the lab again to get a new one`);
  }
}
