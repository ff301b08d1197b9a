/** weekly-pending-payment-update: not built yet. Says so and exits 70 rather than pretending to work. */
import { ExitCode, OntimeError } from '../errors.js';
import type { JobHandler } from '../runner/types.js';

const notImplemented: JobHandler = async () => {
  throw new OntimeError('weekly-pending-payment-update is not implemented yet in this version of ontime', ExitCode.internal);
};

export default notImplemented;
