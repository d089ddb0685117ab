/**
 * One webhook POST to a vetted address. `fetch` cannot pin the address it
 * connects to, so this uses `http(s).request` with a `lookup` that answers the
 * vetted address whatever the name: the Host header and TLS name stay the
 * URL's, the socket goes where the policy said it may. Redirects are not
 * followed (a 3xx is a failed attempt): following one would skip the policy.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { VettedTarget } from './resolve-target.js';

/** What one attempt came to. `status` is the HTTP status when an answer arrived. */
export interface PostOutcome {
  readonly ok: boolean;
  readonly status: number | null;
  readonly error: string | null;
}

/** Characters of a non-2xx answer's body kept in the error, to help whoever reads the failure. */
const ERROR_SNIPPET_CHARS = 200;

/**
 * POSTs `body` and settles on a 2xx (success), any other status, a network
 * error, `timeoutMs` passing, or `signal` aborting. Never rejects.
 */
export function postWebhook(target: VettedTarget, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<PostOutcome> {
  if (signal.aborted) return Promise.resolve({ ok: false, status: null, error: 'aborted before sending' });
  return new Promise<PostOutcome>((resolve) => {
    const { url } = target;
    const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
      if (options.all) callback(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    };
    const request = (url.protocol === 'https:' ? https : http).request({
      method: 'POST',
      hostname: target.host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      // No pooled sockets: a pooled one may have been opened for another address.
      agent: false,
      lookup: pinnedLookup,
      ...(url.username === '' ? {} : { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` }),
    });

    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const giveUp = (error: string) => {
      finish({ ok: false, status: null, error });
      request.destroy();
    };
    const timer = setTimeout(() => giveUp(`no answer within ${timeoutMs} ms`), timeoutMs);
    const onAbort = () => giveUp('aborted: the controller is stopping');
    signal.addEventListener('abort', onAbort, { once: true });

    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        // Accepted: what the receiver writes after the status changes nothing.
        finish({ ok: true, status, error: null });
        response.resume();
        return;
      }
      let snippet = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (snippet.length < ERROR_SNIPPET_CHARS) snippet += chunk;
      });
      const failed = () => finish({ ok: false, status, error: `HTTP ${status}${snippet.trim() === '' ? '' : `: ${snippet.trim().slice(0, ERROR_SNIPPET_CHARS)}`}` });
      response.on('end', failed);
      response.on('close', failed);
      response.on('error', failed);
    });
    request.on('error', (error) => finish({ ok: false, status: null, error: error.message }));
    request.end(body);
  });
}
