/** `ontime run-due`: not built yet. Says so and exits 70 rather than pretending to work. */
import type { Invocation } from '../runner/session.js';

export default async function notImplemented(_options: unknown, inv: Invocation): Promise<number> {
  inv.streams.stderr.write('error: `ontime run-due` is not implemented yet in this version of ontime\n');
  return 70;
}
