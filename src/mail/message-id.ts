/** Message-IDs of outbox rows: chosen once, when the row is created (docs/mail.md, guarantee 2). */
import { randomBytes } from 'node:crypto';

/** The domain of the From address, for Message-IDs: `"Ops" <ops@example.org>` → example.org. */
export function messageIdDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)/.exec(from);
  return m?.[1]?.toLowerCase() || 'localhost';
}

/** A fresh, globally unique Message-ID: `<ontime.<time>.<random>@<from domain>>`. */
export function newMessageId(from: string): string {
  return `<ontime.${Date.now().toString(36)}.${randomBytes(9).toString('hex')}@${messageIdDomain(from)}>`;
}
