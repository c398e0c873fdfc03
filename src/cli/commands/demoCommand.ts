import { parseArgs } from 'node:util';
import { runDemo } from '../runDemo.js';
import { positiveOption, type CliCommand } from './CliCommand.js';

/** `seam demo`: the main job of the README. */
export const demoCommand: CliCommand = {
  name: 'demo',
  usage: `demo [--duration <s>] [--fps <n>] [--width <px>] [--height <px>]
    run plugins behind one contract on synthetic video and print what they report`,
  async run(args, io) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        duration: { type: 'string' },
        fps: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
      },
      strict: true,
    });
    await runDemo({
      durationS: positiveOption('duration', values.duration, 5),
      fps: Math.round(positiveOption('fps', values.fps, 30)),
      width: Math.round(positiveOption('width', values.width, 640)),
      height: Math.round(positiveOption('height', values.height, 360)),
      write: (line) => {
        io.out(`${line}\n`);
      },
    });
    return 0;
  },
};
