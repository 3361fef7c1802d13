/** What a package that adds an `amqp` sink type and a `cadf` format declares. */
export interface Config {
  auditLog?: {
    sinks?: {
      [name: string]: {
        /** Broker URL (type amqp). */
        url?: string;
        /** @visibility secret */
        password?: string;
      };
    };
    formats?: {
      cadf?: {
        observerId?: string;
      };
    };
  };
}
