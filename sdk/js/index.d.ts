// Types of extws-sdk: a TypeScript handler gets its request typed from the model's fields.

/** A JSON Schema (the subset of sdk/README.md). */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * A schema: checks and converts a value of `Data` to `Out` (what a handler receives) and
 * accepts `In` where the SDK serializes (replies, pushes; e.g. int64 takes bigint or number).
 */
export interface Schema<Out, In = Out> {
  /** The JSON Schema, as `describe` exports it. */
  readonly json: JsonSchema;
  /** Type-level only. */
  readonly __out?: Out;
  /** Type-level only. */
  readonly __in?: In;
}

/** A field that may be absent (`t.optional`). */
export interface Optional<Out, In = Out, HasDefault extends boolean = false> extends Schema<Out, In> {
  readonly optional: true;
  readonly __hasDefault?: HasDefault;
}

/** An object schema with a name: the `Type` of a request, reply or push. */
export interface Model<Out, In = Out> extends Schema<Out, In> {
  /** The `Type`, e.g. `CalculateRequest`. */
  readonly name: string;
}

/** What a handler receives for schema `S`. */
export type Infer<S> = S extends Schema<infer Out, any> ? Out : never;
/** What the SDK accepts to serialize as schema `S`. */
export type Input<S> = S extends Schema<any, infer In> ? In : never;

type Fields = { [key: string]: Schema<any, any> };
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<any, any, any> ? K : never }[keyof F];
type DefaultedKeys<F extends Fields> = { [K in keyof F]: F[K] extends Optional<any, any, true> ? K : never }[keyof F];
/** The decoded object: optional fields without a default may be missing. */
export type ObjectOut<F extends Fields> = Simplify<
  { [K in Exclude<keyof F, Exclude<OptionalKeys<F>, DefaultedKeys<F>>>]: Infer<F[K]> } & {
    [K in Exclude<OptionalKeys<F>, DefaultedKeys<F>>]?: Infer<F[K]>;
  }
>;
/** The object to serialize: optional fields may be left out. */
export type ObjectIn<F extends Fields> = Simplify<
  { [K in Exclude<keyof F, OptionalKeys<F>>]: Input<F[K]> } & { [K in OptionalKeys<F>]?: Input<F[K]> }
>;

/** Telegram's WebAppUser, with Telegram's field names; the id is exact (a BigInt). */
export interface User {
  id: bigint;
  is_bot?: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_premium?: boolean;
  added_to_attachment_menu?: boolean;
  allows_write_to_pm?: boolean;
  photo_url?: string;
}

/** The schema builder. */
export declare const t: {
  /** A model named `name` (its `Type`) with `fields`; unknown fields of `Data` are ignored. */
  model<F extends Fields>(name: string, fields: F): Model<ObjectOut<F>, ObjectIn<F>>;
  /** An object without a name (nested data). */
  object<F extends Fields>(fields: F): Schema<ObjectOut<F>, ObjectIn<F>>;
  /** A signed 64-bit integer, exact: a BigInt (`{"type":"integer","format":"int64"}`). */
  int64(): Schema<bigint, bigint | number>;
  /** A signed 32-bit integer, as a number. */
  int32(): Schema<number>;
  /** Any JSON number. */
  number(): Schema<number>;
  string(): Schema<string>;
  boolean(): Schema<boolean>;
  /** An array of `items`. */
  array<O, I>(items: Schema<O, I>): Schema<O[], I[]>;
  /** One of these values. */
  enum<const V extends readonly (string | number | boolean | null)[]>(...values: V): Schema<V[number]>;
  /** `inner` or null (`anyOf` with `{"type":"null"}`). */
  nullable<O, I>(inner: Schema<O, I>): Schema<O | null, I | null>;
  /** A field that may be absent; with `dflt` the handler sees `dflt` instead. */
  optional<O, I>(inner: Schema<O, I>): Optional<O, I, false>;
  optional<O, I>(inner: Schema<O, I>, dflt: O): Optional<O, I, true>;
  /** Any JSON value (integers beyond 2^53 as BigInts). */
  any(): Schema<unknown>;
  /** Telegram's user (`User`). */
  user(): Model<User>;
};

/** A handler's deliberate failure: the client gets `HandlerException` with this message. */
export declare class HandlerError extends Error {
  constructor(message: string, options?: { cause?: unknown });
  /** Whether the host closes the connection after sending the error. */
  closeConnection: boolean;
  /** The close code, when closing. */
  closeCode: number | undefined;
  /** An error after which the host closes the connection with `code` (1000, 1001, 1003, 1007–1011, 3000–4999). */
  static close(code: number, reason: string): HandlerError;
}

/**
 * Handles requests of `request.name`: `fn` gets the decoded `Data` (bad data never reaches it:
 * the client gets `invalid <Type>: <problem>`) and the user (null without authentication), and
 * returns the reply's `Data`, sent with `Type` `reply.name`. Throw `HandlerError` to fail.
 */
export declare function handle<Req extends Model<any, any>, Rep extends Model<any, any>>(
  request: Req,
  reply: Rep,
  fn: (request: Infer<Req>, user: User | null) => Input<Rep>,
): void;

/** Declares the models this component pushes, for `describe`. */
export declare function pushes(...models: Model<any, any>[]): void;
/** Runs `fn` when a connection of `user` is authenticated. */
export declare function onConnect(fn: (user: User | null) => void): void;
/** Runs `fn` when a connection of `user` closes (best-effort). */
export declare function onDisconnect(fn: (user: User | null) => void): void;

/** The tenant's key-value store, with JSON values. Failures throw `HandlerError`. */
export declare const kv: {
  /** The value at `key`, decoded by `schema` when given, or undefined. */
  get<O = unknown>(key: string, schema?: Schema<O, any>): O | undefined;
  /** Sets `key` to `value` (as JSON), expiring after `ttlMs` when given. */
  set(key: string, value: unknown, options?: { ttlMs?: number | bigint }): void;
  /** Deletes `key`; true if it existed. */
  delete(key: string): boolean;
  /** Adds `delta` (default 1) to the integer at `key` (absent = 0); returns the new value. */
  increment(key: string, delta?: number | bigint): bigint;
  /** Sets `key` to `next` if it holds `expected` (undefined: absent), compared as JSON text. */
  compareAndSwap(key: string, expected: unknown, next: unknown): boolean;
  /** Keys starting with `prefix`, sorted, at most `limit` (≤ 1000). */
  listKeys(prefix?: string, limit?: number): string[];
};

/** Server push; the pushed `Type` is the model's name. Failures throw `HandlerError`. */
export declare const push: {
  toUser<M extends Model<any, any>>(userId: bigint | number, model: M, data: Input<M>): void;
  publish<M extends Model<any, any>>(topic: string, model: M, data: Input<M>): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
};

/** The host's log. */
export declare const log: Record<'trace' | 'debug' | 'info' | 'warn' | 'error', (message: string) => void>;

/** The rest of the validated initData (camelCase, as the WIT `init-data-info`). */
export interface InitDataInfo {
  authDate?: bigint;
  queryId?: string;
  chatType?: string;
  chatInstance?: string;
  startParam?: string;
  canSendAfter?: bigint;
  chat?: { id: bigint; chatType: string; title: string; username?: string; photoUrl?: string };
  receiver?: { id: bigint; firstName: string; [field: string]: unknown };
}

/** Where a call came from: a client's message (and its hooks), a bot update with its
 * `update_id`, a schedule, or the `extws-wasm call` subcommand. */
export type CallOrigin =
  | { tag: 'client' }
  | { tag: 'update'; val: bigint }
  | { tag: 'schedule' }
  | { tag: 'cli' };

/** The connection. */
export declare const session: {
  tenant(): string;
  initData(): InitDataInfo | undefined;
  /** Where the current call came from (host 0.1.3 and later). */
  origin(): CallOrigin;
};
