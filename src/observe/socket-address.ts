/** Splitting of `host:port` socket addresses as netstat and ss print them. */

export interface SocketAddress {
  /** Host part without brackets or `%iface` scope (`*` and `0.0.0.0` kept as printed). */
  address: string;
  /** Port number, or undefined for `*`. */
  port: number | undefined;
  /** Interface scope (`127.0.0.53%lo:53` → `lo`), if printed. */
  scope?: string;
}

/** Splits `1.2.3.4:80`, `[::1]:80`, `::1:80` (netstat), `*:*`, `:::*`, `[::ffff:1.2.3.4]:80`; undefined if there is no port part. */
export function splitSocketAddress(text: string): SocketAddress | undefined {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return undefined;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  let port: number | undefined;
  if (portText === '*') port = undefined;
  else if (/^\d{1,5}$/.test(portText) && Number(portText) <= 65535) port = Number(portText);
  else return undefined;
  if (host === '') return undefined;
  const percent = host.indexOf('%');
  if (percent >= 0) return { address: host.slice(0, percent), port, scope: host.slice(percent + 1) };
  return { address: host, port };
}
