import Docker from 'dockerode';

/**
 * Whether Docker integration tests can run. They skip (with a visible message) when no engine
 * answers, unless TCPLAB_REQUIRE_DOCKER=1, in which case a missing engine fails the suite.
 */
export async function dockerAvailable(): Promise<boolean> {
  try {
    await new Docker().ping();
    return true;
  } catch (err) {
    if (process.env.TCPLAB_REQUIRE_DOCKER === '1') {
      throw new Error(`TCPLAB_REQUIRE_DOCKER=1 but no Docker engine answers: ${(err as Error).message}`);
    }
    process.stderr.write('\n*** Docker integration tests SKIPPED: no Docker engine answers (set TCPLAB_REQUIRE_DOCKER=1 to make this an error) ***\n\n');
    return false;
  }
}
