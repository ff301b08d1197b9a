/**
 * The small node process between ontime and an external job's command. ontime starts it as the
 * leader of a new process group; it starts the command in that group and watches file
 * descriptor 3, a socket whose other end only ontime holds. The kernel closes that end when
 * ontime dies in any way, SIGKILL included, so its closing means "the parent is gone": the
 * supervisor then stops the whole group itself (SIGTERM, the grace period, SIGKILL), and no
 * command outlives a crashed ontime. Linux's PR_SET_PDEATHSIG would do the same for one process
 * only, and node cannot set it; this works on every POSIX system and covers grandchildren.
 *
 * Deliberately free of imports from the rest of ontime, so it starts in a few milliseconds.
 * Protocol on fd 3, one JSON object a line: {"event":"started","pid"} then
 * {"event":"exit","code","signal"} or {"event":"error","message","code"}.
 */
import { spawn } from 'node:child_process';
import { Socket } from 'node:net';

interface SupervisorRequest {
  command: string[] | string;
  shell: boolean;
  killAfterMs: number;
}

const request = JSON.parse(process.argv[2] ?? '{}') as SupervisorRequest;
const parent = new Socket({ fd: 3, readable: true, writable: true });
let parentGone = false;
let childRunning = false;

function tell(message: Record<string, unknown>): void {
  if (!parentGone) parent.write(JSON.stringify(message) + '\n');
}

function signalGroup(signal: NodeJS.Signals): void {
  try {
    process.kill(-process.pid, signal);
  } catch {
    // The group is already empty.
  }
}

// ontime signals the whole group; the command gets the signal from there. The supervisor stays
// to report how the command ended (ontime's SIGKILL of the group ends it too).
process.on('SIGTERM', () => undefined);
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);

const [program, args] =
  request.shell || typeof request.command === 'string'
    ? ['/bin/sh', ['-c', String(request.command)]]
    : [request.command[0]!, request.command.slice(1)];
const child = spawn(program, args as string[], { stdio: ['ignore', 'inherit', 'inherit'] });

child.on('spawn', () => {
  childRunning = true;
  tell({ event: 'started', pid: child.pid });
});
child.on('error', (err: NodeJS.ErrnoException) => {
  if (childRunning) return;
  tell({ event: 'error', message: err.message, code: err.code ?? null });
  parent.end(() => process.exit(err.code === 'ENOENT' ? 127 : 126));
});
child.on('exit', (code, signal) => {
  childRunning = false;
  if (parentGone) {
    // Nobody to report to: take anything the command left in the group with us.
    signalGroup('SIGKILL');
    return;
  }
  tell({ event: 'exit', code, signal });
  parent.end(() => process.exit(code ?? 128));
});

function onParentGone(): void {
  if (parentGone) return;
  parentGone = true;
  if (!childRunning) process.exit(0);
  signalGroup('SIGTERM');
  setTimeout(() => signalGroup('SIGKILL'), request.killAfterMs).unref();
  // The command's exit (or the SIGKILL) ends this process.
  setInterval(() => undefined, 60_000);
}

parent.on('end', onParentGone);
parent.on('close', onParentGone);
parent.on('error', onParentGone);
parent.resume();
