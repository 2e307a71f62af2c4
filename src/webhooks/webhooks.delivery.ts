import { createHmac } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { SECRET_PREFIX, type AttemptOutcome, type ClaimedDelivery } from './webhooks.store.js';

/**
 * Addresses a webhook must not reach unless the operator allows it (OWASP API7, SSRF): a user
 * could otherwise make the server call its own admin ports, the LAN or a cloud metadata service.
 * IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) match the IPv4 rules.
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", 0.0.0.0 included
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, where cloud metadata services live
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed in some networks)
  ['ff00::', 8], // multicast
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  return PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** The URL's host when it is an IP address (IPv6 without its brackets), else undefined. */
function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : undefined;
}

/** Whether a URL names a private address literally: refused when the webhook is registered. */
export function hasPrivateLiteralHost(url: URL): boolean {
  const address = literalAddress(url);
  return address !== undefined && isPrivateAddress(address);
}

/** A delivery the guard refused before sending anything. */
class Refused extends Error {}

/** Every address the host resolves to; refused when any is private (unless allowed). */
async function resolveTarget(url: URL, allowPrivate: boolean): Promise<LookupAddress[]> {
  const literal = literalAddress(url);
  const addresses = literal
    ? [{ address: literal, family: isIP(literal) }]
    : await lookup(url.hostname, { all: true, verbatim: true });
  const bad = allowPrivate ? undefined : addresses.find((entry) => isPrivateAddress(entry.address));
  if (bad) throw new Refused(`refused: ${url.hostname} resolves to ${bad.address}, a private address`);
  return addresses;
}

/**
 * Connects only to the addresses just checked, so a DNS answer that changes between the check
 * and the connection (DNS rebinding) cannot lead the request elsewhere.
 */
function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
}

/** The Standard Webhooks signature: base64 HMAC-SHA256 of `id.timestamp.body` under the decoded secret. */
export function sign(secret: string, messageId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${messageId}.${timestamp}.${body}`).digest('base64')}`;
}

/** POSTs and resolves with the status as soon as it arrives; the answer's body is not read. */
function post(
  url: URL,
  body: string,
  headers: Record<string, string>,
  addresses: LookupAddress[],
  signal: AbortSignal,
) {
  return new Promise<number>((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A fresh connection each time, to the address just checked; redirects are not followed,
        // so a receiver cannot bounce the request to a private address either.
        agent: false,
        lookup: pinnedLookup(addresses),
        signal,
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export interface SendOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  /** Aborted when the worker stops: the attempt ends at once. */
  signal: AbortSignal;
}

/** Signs and sends one attempt of a delivery; never throws, the outcome says what happened. */
export async function sendDelivery(delivery: ClaimedDelivery, options: SendOptions): Promise<AttemptOutcome> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  try {
    const url = new URL(delivery.url);
    const addresses = await resolveTarget(url, options.allowPrivate);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Folio-Webhooks',
      'webhook-id': delivery.messageId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': sign(delivery.secret, delivery.messageId, timestamp, delivery.payload),
    };
    const status = await post(
      url,
      delivery.payload,
      headers,
      addresses,
      AbortSignal.any([options.signal, deadline]),
    );
    return status >= 200 && status < 300 ? { status, error: null } : { status, error: `answered ${status}` };
  } catch (error) {
    if (deadline.aborted && !options.signal.aborted) {
      return { status: null, error: `no answer within ${options.timeoutMs / 1000} s` };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { status: null, error: (error instanceof Refused ? message : `failed: ${message}`).slice(0, 500) };
  }
}
