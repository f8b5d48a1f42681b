/** A line of tool output (tcpdump, netstat, ss) that looks like a row of the format but cannot be read. */
export class TextParseError extends Error {
  override readonly name = 'TextParseError';
  constructor(
    /** Which format was being parsed (`tcpdump`, `netstat -tan`, `ss -tan`). */
    readonly format: string,
    /** 1-based line number in the input. */
    readonly line: number,
    /** What was expected, what was received and the remedy. */
    readonly problem: string,
  ) {
    super(`${format} output, line ${line}: ${problem}`);
  }
}
