import { request, type ClientRequest } from 'node:http';

// An /api/events client for the soak: holds one Server-Sent Events stream open for the whole run
// and counts what arrives. A stream that fails to open, or ends before the soak closes it, is a
// failure the report shows.

export interface EventStream {
  /** `event: change` messages received. */
  readonly events: number;
  /** `: ping` heartbeats received. */
  readonly pings: number;
  /** `event: reconnect` messages: a stopping server sends one before it ends the stream. */
  readonly reconnects: number;
  /** Why the stream stopped early, if it did. */
  readonly failure: string | undefined;
  close(): void;
}

/** Opens `${url}/api/events` with the API key; resolves once the server has answered 200. */
export function openEventStream(url: string, key: string): Promise<EventStream> {
  let events = 0;
  let pings = 0;
  let reconnects = 0;
  let failure: string | undefined;
  let closing = false;
  let req: ClientRequest;
  const stream: EventStream = {
    get events() {
      return events;
    },
    get pings() {
      return pings;
    },
    get reconnects() {
      return reconnects;
    },
    get failure() {
      return failure;
    },
    close() {
      closing = true;
      req.destroy();
    },
  };
  return new Promise((resolve, reject) => {
    req = request(
      `${url}/api/events`,
      { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, agent: false },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET /api/events answered ${res.statusCode}`));
          return;
        }
        res.setEncoding('utf8');
        let rest = '';
        res.on('data', (chunk: string) => {
          const lines = (rest + chunk).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            if (line === 'event: change') events += 1;
            else if (line === 'event: reconnect') reconnects += 1;
            else if (line.startsWith(': ping')) pings += 1;
          }
        });
        res.on('end', () => {
          if (!closing) failure ??= 'the server ended the stream';
        });
        res.on('error', (error) => {
          if (!closing) failure ??= error.message;
        });
        resolve(stream);
      },
    );
    req.on('error', (error) => {
      if (closing) return;
      failure ??= error.message;
      reject(error);
    });
    req.end();
  });
}
