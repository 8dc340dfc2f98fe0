/** A topic to create at start: a name, or a name with its partitions and configs. */
export type TopicSpec =
  | string
  | {
      name: string;
      /** Default: `defaultPartitions`. */
      partitions?: number;
      /** Topic configs, as Kafka names them: `{"cleanup.policy": "compact"}`. */
      configs?: Record<string, string>;
    };

export interface StartOptions {
  /** The port to listen on; 0 (the default) takes any free one. */
  port?: number;
  /** The IP address to listen on and advertise (default "127.0.0.1"). */
  host?: string;
  /** Topics to create before `start` resolves. */
  topics?: TopicSpec[];
  /** `auto.create.topics.enable` (default true). */
  autoCreate?: boolean;
  /** `num.partitions`: partitions of an auto-created topic (default 1). */
  defaultPartitions?: number;
  /** `group.initial.rebalance.delay.ms` (default 0 here; Kafka's is 3000). */
  groupInitialRebalanceDelayMs?: number;
  /**
   * A virtual clock: `true` starts it at the current time, a number at
   * that time (ms since the epoch). Time then moves only by
   * `broker.advance(ms)`: session timeouts, long polls and rebalance
   * delays expire exactly when the test advances past them.
   */
  virtualClock?: boolean | number;
  /**
   * A directory (created if missing) that keeps the logs in Kafka's log
   * layout, as `spate serve --data-dir` does: a broker started again on
   * it has its topics, records and committed offsets back. An
   * acknowledged produce is fsynced. `start` rejects when it is a file
   * (`code: 'ENOTDIR'`), unreadable, or in use by another running broker
   * (`code: 'EBUSY'`).
   */
  dir?: string;
  /**
   * With `dir`: a segment file rolls before it would grow past this many
   * bytes (Kafka's `log.segment.bytes`, default 1 GiB; 14 to 2^31-1).
   * Retention and DeleteRecords free disk a whole closed segment at a time.
   */
  segmentBytes?: number;
}

/** A Kafka API: its name as Kafka spells it ("Produce", "JoinGroup") or its key. */
export type ApiName = string | number;

/** An error to answer requests with (`broker.injectError`). */
export interface ErrorFault {
  /** The API whose requests fail. */
  api: ApiName;
  /** Kafka's error name ("NOT_LEADER_OR_FOLLOWER") or code (6). */
  error: string | number;
  /** How many requests (default 1). */
  count?: number;
  /** Only requests naming this topic (Produce, Fetch, ListOffsets, Metadata). */
  topic?: string;
  /** Only requests naming this partition of `topic`. */
  partition?: number;
}

/** A request the broker received, decoded as `spate decode --json` shows one. */
export interface DecodedRequest {
  /** The API's name, as Kafka spells it ("Produce"); its key is `header.request_api_key`. */
  api: string;
  version: number;
  side: 'request';
  header: Record<string, unknown>;
  body: Record<string, unknown>;
  /** The connection it came on (one id per accepted socket). */
  conn: number;
}

/** A frame the broker received and could not decode (it closes that connection). */
export interface UndecodedRequest {
  conn: number;
  /** Why it does not decode. */
  error: string;
  /** The frame, in hex. */
  hex: string;
}

/** What `broker.observe()` yields. 64-bit integers beyond 2^53 are BigInts. */
export type ObservedRequest = DecodedRequest | UndecodedRequest;

/** A Kafka-compatible broker running inside this process. */
export declare class Broker {
  private constructor();
  /**
   * Starts a broker. Rejects with a `TypeError` for a bad option and an
   * `Error` (with `code`, e.g. "EADDRINUSE") when it cannot listen.
   */
  static start(options?: StartOptions): Promise<Broker>;
  /** "127.0.0.1:PORT", for a client's bootstrap servers. */
  readonly bootstrap: string;
  /** The port it listens on. */
  readonly port: number;
  /** The broker's time in ms since the epoch (the virtual clock's, with `virtualClock`). */
  readonly now: number;
  /**
   * Stops it and drops every connection (with `dir`, closes the directory
   * cleanly); calling it again is harmless. Rejects with the error that
   * stopped the broker when a write to `dir` failed.
   */
  close(): Promise<void>;

  /**
   * Answers the next `count` requests of `api` (naming `topic` /
   * `partition`, when given) with `error`, in a real response of that API
   * and version; they are not carried out. A TypeError for an unknown
   * API or error, or an API Spate has no error answer for.
   */
  injectError(fault: ErrorFault): void;
  /** Fails the next `count` produce appends (to `topic` only, when given) with KAFKA_STORAGE_ERROR. */
  failAppends(count: number, options?: { topic?: string }): void;
  /**
   * Holds the next `count` requests of `api` (every one until
   * `clearFaults()`, without a count) `ms` long before the broker sees
   * them; later requests on the connection wait behind them.
   */
  delay(api: ApiName, ms: number, options?: { count?: number }): void;
  /** Closes, unanswered, the connection of each of the next `count` (1) requests of `api`. */
  dropConnection(api: ApiName, options?: { count?: number }): void;
  /** Faults armed and not yet used up. */
  readonly pendingFaults: number;
  /** Disarms every fault. */
  clearFaults(): void;
  /**
   * Every request received from now on, decoded. Ends on `break` (or
   * `return()`) and when the broker closes.
   */
  observe(): AsyncIterableIterator<ObservedRequest> & {
    /** The requests seen and not yet taken, without waiting. */
    take(): ObservedRequest[];
  };
  /**
   * Moves the virtual clock `ms` forward and runs what is then due.
   * Rejects with a TypeError without `virtualClock`.
   */
  advance(ms: number): Promise<void>;
}

declare const _default: { Broker: typeof Broker };
export default _default;
