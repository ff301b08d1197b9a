/**
 * bulk-update-case-status --from A --to B [--ids 1,2,3] [--force]: move cases from status A to B
 * with conditional updates, history and audit rows. A backward move (B < A) needs --force.
 */
import { runStatusMove, type StatusMoveOptions } from '../shared/case-status-move.js';
import type { JobHandler } from '../../runner/types.js';

const bulkUpdateCaseStatus: JobHandler<StatusMoveOptions> = (ctx, options) =>
  runStatusMove(ctx, { from: options.from, to: options.to, ids: options.ids, force: Boolean(options.force) });

export default bulkUpdateCaseStatus;
