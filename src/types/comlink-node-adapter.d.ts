// comlink ships this adapter as an .mjs file with a .d.ts beside it; TypeScript looks for
// a .d.mts for an .mjs import, so the declaration is restated here.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  import type { MessagePort, Worker } from 'node:worker_threads';
  export type NodeEndpoint = MessagePort | Worker;
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}
