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
}

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
  /** Stops it and drops every connection; calling it again is harmless. */
  close(): Promise<void>;
}

declare const _default: { Broker: typeof Broker };
export default _default;
