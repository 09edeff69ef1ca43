// Download progress on stderr: a live bar (percentage, MB, MB/s) on a terminal, else a line every few
// seconds at most, and a closing line for downloads that took more than a second.
const MB = 1024 * 1024;

export interface Progress {
  update(bytes: number): void;
  done(): void;
}

const mb = (n: number) => (n / MB).toFixed(1);

/** `startBytes` were already on disk (a resumed download); the rate counts only what this run fetched. */
export function downloadProgress(label: string, total: number | undefined, startBytes: number, out: NodeJS.WriteStream = process.stderr): Progress {
  const t0 = performance.now();
  const tty = out.isTTY === true;
  const every = tty ? 200 : 5000;
  let last = t0;
  let bytes = startBytes;
  let shown = false;
  const line = () => {
    const secs = (performance.now() - t0) / 1000;
    const rate = secs > 0 ? (bytes - startBytes) / MB / secs : 0;
    const pct = total ? `${((100 * bytes) / total).toFixed(1).padStart(5)}% ` : '';
    return `[sprig] downloading ${label}: ${pct}${mb(bytes)}${total ? `/${mb(total)}` : ''} MB, ${rate.toFixed(1)} MB/s`;
  };
  return {
    update(n: number) {
      bytes = n;
      const now = performance.now();
      if (now - last < every) return;
      last = now;
      shown = true;
      out.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`);
    },
    done() {
      const secs = (performance.now() - t0) / 1000;
      if (!shown && secs < 1) return;
      const rate = secs > 0 ? (bytes - startBytes) / MB / secs : 0;
      const msg = `[sprig] downloaded ${label}: ${mb(bytes)} MB in ${secs.toFixed(1)} s (${rate.toFixed(1)} MB/s)`;
      out.write(tty ? `\r${msg}\x1b[K\n` : `${msg}\n`);
    },
  };
}
