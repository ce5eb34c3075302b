/**
 * Server-sent events over a fetch() body: `EventSource` cannot POST, so the stream is read with a
 * reader and split into events here (blank-line separated, `data:` lines joined by newlines).
 */
/** The `data` of each event in the stream, in order, as it arrives. */
export declare function readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string>;
