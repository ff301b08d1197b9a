/** `ontime enable <job>`: store job.<name>.enabled = true. */
import { switchJob, type SwitchOptions } from '../jobs/job-switch.js';
import type { Invocation } from '../runner/session.js';

export default function enable(options: SwitchOptions, inv: Invocation): Promise<number> {
  return switchJob(true, options, inv);
}
