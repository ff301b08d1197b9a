/**
 * The one check every recipient taken from the database passes before a message is built: exactly
 * one plain address. The application writes these columns; a CR/LF could add headers, a comma or
 * semicolon a second recipient, a NUL a new address in some relays. Anything else is skipped and
 * reported as `invalid address`, never sent. Deliberately strict (no display names, no quoted
 * local parts): what the applications store is a bare address.
 */
import type { Transport } from './transport.js';

/** RFC 5321's limit on a path; longer cannot be delivered anyway. */
const MAX_ADDRESS_LENGTH = 254;
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** The address to send to, or undefined when the value is not exactly one valid address. */
export function singleAddress(raw: string | null | undefined): string | undefined {
  if (typeof raw !== 'string') return undefined;
  // Only surrounding blanks are forgiven; a control character anywhere is refused, not trimmed.
  const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value.length === 0 || value.length > MAX_ADDRESS_LENGTH) return undefined;
  return ADDRESS.test(value) ? value : undefined;
}

/** Several checked addresses in one To (one message to a member and their delegates). */
export const ADDRESS_SEPARATOR = ', ';

/** True when `to` is one valid address, or valid addresses joined by ADDRESS_SEPARATOR. */
export function isAddressList(to: string): boolean {
  return to.split(ADDRESS_SEPARATOR).every((a) => singleAddress(a) === a);
}

/**
 * The last guard: whatever reached the outbox (rows of an older version, a hand-made row) is
 * marked failed with `invalid address` rather than handed to the transport.
 */
export function refuseInvalidRecipients(transport: Transport): Transport {
  return {
    backend: transport.backend,
    concurrency: transport.concurrency,
    send: (message) =>
      isAddressList(message.to)
        ? transport.send(message)
        : Promise.resolve({ ok: false, kind: 'failed', error: 'invalid address' }),
    verify: () => transport.verify(),
    close: () => transport.close(),
  };
}
