/** weekly-paid-update: every case at status 15 (pending payment) moves to 20 (paid). */
import { runStatusMove } from '../shared/case-status-move.js';
import type { JobHandler } from '../../runner/types.js';

const weeklyPaidUpdate: JobHandler = (ctx) => runStatusMove(ctx, { from: 15, to: 20 });

export default weeklyPaidUpdate;
