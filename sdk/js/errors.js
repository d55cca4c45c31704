//! `HandlerError`: the error a handler throws to fail a request (or close the connection).

/** A deliberate failure: the client gets `HandlerException` with `handler_error` and `message`. */
export class HandlerError extends Error {
  /**
   * @param {string} message sent to the client
   * @param {{cause?: unknown}} [options]
   */
  constructor(message, options) {
    super(message, options);
    this.name = 'HandlerError';
    /** Whether the host closes the connection after sending the error. */
    this.closeConnection = false;
    /** The close code (1000, 1001, 1003, 1007–1011, 3000–4999; others become 1008). */
    this.closeCode = undefined;
  }

  /** An error after which the host closes the connection with `code` and `reason`. */
  static close(code, reason) {
    const error = new HandlerError(reason);
    error.closeConnection = true;
    error.closeCode = code;
    return error;
  }
}
