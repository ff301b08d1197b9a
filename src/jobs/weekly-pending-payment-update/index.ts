/** weekly-pending-payment-update: every case at status 10 (ready for billing) moves to 15 (pending payment). */
import { runStatusMove } from '../shared/case-status-move.js';
import type { JobHandler } from '../../runner/types.js';

const weeklyPendingPaymentUpdate: JobHandler = (ctx) => runStatusMove(ctx, { from: 10, to: 15 });

export default weeklyPendingPaymentUpdate;
