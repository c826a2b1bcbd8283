// A local HTTP server on 127.0.0.1 for the download tests: each path has a behaviour (serve with Range
// support, cut the first connection mid-body, never answer, 404), and every request is logged.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';

export type Behaviour = { kind: 'file'; body: Buffer; cutFirstAt?: number; ignoreRange?: boolean } | { kind: 'hang' } | { kind: 'status'; status: number } | { kind: 'redirect'; to: string };

export interface TestServer {
  readonly url: string;
  readonly requests: { path: string; range: string | undefined }[];
  readonly routes: Map<string, Behaviour>;
  close(): Promise<void>;
}

export async function startTestServer(routes: Record<string, Behaviour> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: TestServer['requests'] = [];
  const cut = new Set<string>();
  const sockets = new Set<Socket>();
  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = request.url ?? '/';
    const range = request.headers.range;
    requests.push({ path, range });
    const behaviour = table.get(path);
    if (behaviour === undefined) {
      response.writeHead(404).end('not found');
      return;
    }
    if (behaviour.kind === 'hang') return;
    if (behaviour.kind === 'redirect') {
      response.writeHead(302, { location: behaviour.to }).end();
      return;
    }
    if (behaviour.kind === 'status') {
      response.writeHead(behaviour.status).end(`status ${behaviour.status}`);
      return;
    }
    const { body } = behaviour;
    const match = /^bytes=(\d+)-$/.exec(range ?? '');
    const start = match !== null && behaviour.ignoreRange !== true ? Number(match[1]) : 0;
    if (start >= body.length && start > 0) {
      response.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    const headers = { 'content-length': String(body.length - start), 'accept-ranges': 'bytes' };
    if (start > 0) response.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    else response.writeHead(200, headers);
    if (behaviour.cutFirstAt !== undefined && !cut.has(path)) {
      cut.add(path);
      response.write(body.subarray(start, behaviour.cutFirstAt), () => setTimeout(() => request.socket.destroy(), 20));
      return;
    }
    response.end(body.subarray(start));
  };
  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One ustar header block + data blocks for a regular file (type '0') or a symlink (type '2'). */
function tarEntry(name: string, data: Buffer, type: '0' | '2' | '5' = '0', linkName = ''): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${(type === '0' ? data.length : 0).toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write(type, 156);
  header.write(linkName, 157, 100, 'utf8');
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  if (type !== '0') return header;
  const padded = Buffer.alloc(Math.ceil(data.length / 512) * 512);
  data.copy(padded);
  return Buffer.concat([header, padded]);
}

/** A .tar.gz of the given entries, written by hand so that tests can also make hostile archives. */
export async function tarGz(entries: { name: string; data?: Buffer; type?: '0' | '2' | '5'; link?: string }[]): Promise<Buffer> {
  const tar = Buffer.concat([...entries.map((e) => tarEntry(e.name, e.data ?? Buffer.alloc(0), e.type ?? '0', e.link ?? '')), Buffer.alloc(1024)]);
  return buffer(Readable.from([tar]).pipe(createGzip()));
}

/** A CONNECT proxy on 127.0.0.1 that tunnels to the requested host and counts the tunnels it opened. */
export async function startConnectProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_request, response) => response.writeHead(405).end());
  server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
    const target = request.url ?? '';
    tunnels.push(target);
    const colon = target.lastIndexOf(':');
    const upstream = netConnect(Number(target.slice(colon + 1)), target.slice(0, colon), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
