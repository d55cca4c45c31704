// A TCP proxy between a client and the server that the test can cut: every connection through
// it is reset (RST on both sides, no close frame, as when a phone loses its network) and new
// ones are refused until it is restored.
import net from "node:net";

/** Starts a proxy on 127.0.0.1:0 to `target` ("HOST:PORT"). */
export async function startProxy(target) {
  const [host, port] = target.split(":");
  const pairs = new Set();
  let down = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    accepted += 1;
    const upstream = net.connect(Number(port), host);
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = `127.0.0.1:${server.address().port}`;
  return {
    address,
    ws: `ws://${address}/`,
    http: `http://${address}/`,
    /** Connections accepted so far. */
    get accepted() {
      return accepted;
    },
    /** Resets every connection and refuses new ones. */
    cut() {
      down = true;
      for (const { client, upstream } of [...pairs]) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    /** Accepts connections again. */
    restore() {
      down = false;
    },
    close() {
      this.cut();
      server.close();
    },
  };
}
