// Types of extws.js. `ExtwsClient<Api>` takes the API that `extws-wasm describe COMPONENT
// --typescript` generates, so that `request("CalculateRequest", {...})` checks its Data and
// types its reply, and `on("CounterChanged", fn)` types the push; without it every Type is
// allowed and untyped.

/** The ways initData can reach the server. */
export type Transport = "subprotocol" | "message" | "query" | "param" | "none";
export const TRANSPORTS: readonly Transport[];

/** The shape of a generated API: request Type -> its Data and its reply's Data; push Type -> Data. */
export interface ApiShape {
  requests: { [type: string]: { data: unknown; reply: unknown } };
  pushes: { [type: string]: unknown };
}

/** Any Type, untyped (the default). */
export interface AnyApi {
  requests: { [type: string]: { data: any; reply: any } };
  pushes: { [type: string]: any };
}

/** The server's error reply: its code (`handler_error`, `invalid_data`, `timeout`, ...). */
export class HandlerException extends Error {
  constructor(code: string, message: string, details?: { type?: string; id?: unknown });
  readonly code: string;
  readonly type?: string;
  readonly id?: unknown;
}

/** The connection closed or could not open. */
export class ConnectionError extends Error {
  constructor(message: string, details?: { closeCode?: number; reason?: string });
  readonly closeCode?: number;
  readonly reason: string;
}

/** The server refused the initData. */
export class AuthError extends ConnectionError {}

/** No reply (or no connection) in time. */
export class TimeoutError extends Error {}

export type State = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface StateDetail {
  closeCode?: number;
  reason?: string;
  error?: Error;
  attempt?: number;
  delayMs?: number;
}

export interface ClientOptions {
  initData?: string;
  transport?: Transport;
  /** Query parameter name for transport "param" (default `initData`). */
  paramName?: string;
  /** A WHATWG WebSocket constructor (default: the global one). */
  WebSocket?: unknown;
  reconnect?: boolean;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  jitter?: number;
  maxAttempts?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  shouldReconnect?(closeCode: number, reason: string): boolean;
  [option: string]: unknown;
}

/** The Telegram user of the session (transport "message"). */
export interface User {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_premium?: boolean;
  [field: string]: unknown;
}

export class ExtwsClient<A extends ApiShape = AnyApi> {
  constructor(url: string, options?: ClientOptions);
  readonly url: string;
  user: User | null;
  readonly state: State;
  readonly transport: Transport;
  connect(): Promise<this>;
  request<K extends keyof A["requests"] & string>(
    type: K,
    data?: A["requests"][K]["data"],
    options?: { timeoutMs?: number },
  ): Promise<A["requests"][K]["reply"]>;
  on<K extends keyof A["pushes"] & string>(
    type: K,
    fn: (data: A["pushes"][K], message: { Type: K; Data: A["pushes"][K]; [key: string]: unknown }) => void,
  ): () => void;
  on(type: string, fn: (data: any, message: any) => void): () => void;
  off(type: string, fn: (...args: any[]) => void): void;
  onState(fn: (state: State, detail: StateDetail) => void): () => void;
  close(code?: number, reason?: string): void;
}

export function connect<A extends ApiShape = AnyApi>(url: string, options?: ClientOptions): Promise<ExtwsClient<A>>;
export function base64url(text: string): string;
export function connectionTarget(
  url: string,
  transport: Transport,
  initData: string,
  paramName?: string,
): { url: string; protocols: string[] };
