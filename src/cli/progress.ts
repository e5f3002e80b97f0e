/** A one-line progress bar on stderr; without a terminal, a line per quarter so logs stay short. */
export function progressBar(label: string, out: NodeJS.WriteStream = process.stderr): (sent: number, total: number) => void {
  let lastQuarter = -1;
  return (sent, total) => {
    const ratio = total > 0 ? sent / total : 1;
    const line = `${bar(ratio)} ${String(Math.floor(ratio * 100)).padStart(3)}%  ${mib(sent)}/${mib(total)} MiB  ${label}`;
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

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
