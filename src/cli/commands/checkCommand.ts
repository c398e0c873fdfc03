import type { CliCommand } from './CliCommand.js';

/** `seam check`: being written (see its issue); fails plainly until then. */
export const checkCommand: CliCommand = {
  name: 'check',
  usage: `check <plugin-module>
    (not available yet)`,
  run(_args, io) {
    io.err('seam check: not available yet\n');
    return Promise.resolve(1);
  },
};
