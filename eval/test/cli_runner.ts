// Runs the coco-eval CLI in-process with its output captured (the CLI tests).
import { Writable } from 'node:stream';
import { main } from '../cli.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink(), stderr = new Sink();
  const code = await main(argv, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}
