import type { CliCommand } from './CliCommand.js';

/** `seam bench`: being written (see its issue); fails plainly until then. */
export const benchCommand: CliCommand = {
  name: 'bench',
  usage: `bench <plugin-module>
    (not available yet)`,
  run(_args, io) {
    io.err('seam bench: not available yet\n');
    return Promise.resolve(1);
  },
};
