/**
 * One outgoing message as the bytes an SMTP server receives, built in memory in one pass.
 *
 * Why not nodemailer's own composer: it streams every part through a chain of transform streams
 * and hands the socket one small write per chunk; measured on the loopback benchmark that cost
 * more CPU than the SMTP conversation itself and halved the messages per second
 * (docs/performance.md, mail). The headers are still built by nodemailer's MimeNode (address
 * parsing, RFC 2047 encoded words, folding, the choice of 7bit / quoted-printable / base64 for a
 * body) and the bodies encoded with its own encoders, so the message is the one nodemailer would
 * have produced; only the streaming is gone. Loaded lazily with the SMTP transport.
 */
import { randomBytes } from 'node:crypto';
import { encode as base64Encode, wrap as base64Wrap } from 'nodemailer/lib/base64';
import MimeNode from 'nodemailer/lib/mime-node';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import type { TransportMessage } from './transport.js';

export interface ComposedMessage {
  raw: Buffer;
  envelope: { from: string; to: string[] };
}

/** Builds messages; one per transport, so boundaries share a random prefix and a counter. */
export function messageComposer(): (message: TransportMessage) => ComposedMessage {
  // Unique per message and unguessable, so a body cannot contain its boundary; no random bytes
  // drawn per message (nodemailer draws 8 per MIME node).
  const prefix = randomBytes(6).toString('hex');
  let counter = 0;
  return (m) => {
    const baseBoundary = `${prefix}${(counter++).toString(36)}`;
    const root = new MimeNode(m.html ? 'multipart/alternative' : 'text/plain; charset=utf-8', { baseBoundary });
    if (!m.html) root.setContent(m.text);
    // As nodemailer's composer: custom headers first, then the standard ones, which win.
    root.addHeader(m.headers);
    root.setHeader('From', m.from);
    root.setHeader('To', m.to);
    root.setHeader('Subject', m.subject);
    root.setHeader('Message-ID', m.messageId);
    // As nodemailer derives it: From's address (empty, the null sender, if it has none) and To's.
    const envelope = root.getEnvelope();
    const out: string[] = [root.buildHeaders(), '\r\n\r\n'];
    if (m.html) {
      const parts = [m.text, m.html].map((content, i) => {
        const part = root.createChild(i === 0 ? 'text/plain; charset=utf-8' : 'text/html; charset=utf-8', { baseBoundary });
        part.setContent(content);
        return part;
      });
      parts.forEach((part, i) => {
        out.push(i > 0 ? '\r\n' : '', `--${root.boundary}\r\n`, part.buildHeaders(), '\r\n\r\n', body(part));
      });
      out.push(`\r\n--${root.boundary}--\r\n`);
    } else {
      out.push(body(root));
    }
    const raw = out.join('');
    // nodemailer ends every message with a line break; so does this.
    return { raw: Buffer.from(raw.endsWith('\r\n') || raw.endsWith('\n') ? raw : raw + '\r\n', 'utf8'), envelope: { from: envelope.from || '', to: envelope.to } };
  };
}

/** A text node's content in the transfer encoding its headers declare (MimeNode.stream's rule). */
function body(node: MimeNode): string {
  const content = String((node as unknown as { content?: string }).content ?? '');
  switch (node.getTransferEncoding()) {
    case 'quoted-printable':
      return qpWrap(qpEncode(content), 76);
    case 'base64':
      return base64Wrap(base64Encode(content), 76);
    default:
      return content;
  }
}
