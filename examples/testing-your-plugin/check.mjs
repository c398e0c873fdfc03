// The same checks as one call, for a script or CI step: prints the report, exits 1 if the
// plugin fails a check or behaves differently depending on its mode. `npx seam check
// ./histogram.mjs` does the same from the command line.
import { checkPlugin, formatCheckReport } from 'plugin-seam/testing';

const report = await checkPlugin(new URL('./histogram.mjs', import.meta.url));
console.log(formatCheckReport(report));
process.exitCode = report.passed ? 0 : 1;
