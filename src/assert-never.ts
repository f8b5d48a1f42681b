/** Compile-time exhaustiveness guard for switches over discriminated unions: agent, lab, run, verify and report all use this one. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
