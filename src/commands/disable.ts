/** `ontime disable <job>`: store job.<name>.enabled = false; the job then exits 0 with a note wherever it is started. */
import { switchJob, type SwitchOptions } from '../jobs/job-switch.js';
import type { Invocation } from '../runner/session.js';

export default function disable(options: SwitchOptions, inv: Invocation): Promise<number> {
  return switchJob(false, options, inv);
}
