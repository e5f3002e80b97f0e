/**
 * A one-line progress bar on stderr; without a terminal, a line per quarter so logs stay short.
 * It shows the share of the ciphertext sent applied to `fileBytes`, the size the user knows.
 */
export function progressBar(label: string, fileBytes: number, out: NodeJS.WriteStream = process.stderr): (sent: number, total: number) => void {
  let lastQuarter = -1;
  return (sent, total) => {
    const ratio = total > 0 ? Math.min(1, sent / total) : 1;
    const line = `${bar(ratio)} ${String(Math.floor(ratio * 100)).padStart(3)}%  ${size(ratio * fileBytes, fileBytes)}  ${label}`;
    if (out.isTTY) {
      out.write(`\r${line}${ratio >= 1 ? '\n' : ''}`);
      return;
    }
    const quarter = Math.floor(ratio * 4);
    if (quarter > lastQuarter) {
      lastQuarter = quarter;
      out.write(`${line}\n`);
    }
  };
}

function bar(ratio: number, width = 30): string {
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

/** "120/245 KiB" below one MiB, "1.5/12.0 MiB" above. */
export function size(done: number, total: number): string {
  if (total < 2 ** 20) return `${Math.round(done / 1024)}/${Math.round(total / 1024)} KiB`;
  return `${(done / 2 ** 20).toFixed(1)}/${(total / 2 ** 20).toFixed(1)} MiB`;
}
