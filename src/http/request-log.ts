import { pino } from 'pino';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** One log line per request, when it completes, with who made it and how long it took; never a secret. */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      user: request.auth?.userId,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request failed');
    else reply.log.info(line, 'request');
  }
}

/** Beyond this many characters waiting, lines are written at once rather than at the end of the turn. */
const MAX_PENDING = 64 * 1024;

/**
 * Standard output for log lines, written once per turn of the event loop: the lines of the
 * requests answered in one turn go out in one write. pino's own buffered destination
 * (`sync: false, minLength`) measures its whole growing buffer on every line, which made the log
 * line the dearest part of a small answer (docs/performance.md). The write itself is synchronous,
 * as pino's default is, so what is written is on its way even if the process dies; what a crash
 * can lose is at most the lines of the turn it happened in. Lines still waiting are written when
 * the process exits.
 */
export function turnBufferedStdout(): { write(line: string): void } {
  return (stdout ??= bufferStdout());
}

let stdout: { write(line: string): void } | undefined;

/** The one buffer in front of standard output (every app a process builds shares it). */
function bufferStdout(): { write(line: string): void } {
  const out = pino.destination({ dest: 1, sync: true });
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    out.write(text);
  };
  process.on('exit', flush);
  return {
    write(line: string) {
      pending += line;
      if (pending.length >= MAX_PENDING) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}
