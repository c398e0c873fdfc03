// Whether isolated mode runs on shared memory here (the native addon loads), for the fault
// tests whose injection lives in the shared segments. Without the addon, isolated mode copies
// frames over its control pipe (`status.transport` is `copy`): there are no rings, no frame
// slots and no segments to attack, so those rows do not apply and are skipped, saying why.
import { loadShmBinding, shmBindingUnavailableReason } from '../../src/transport/shmBinding.js';

/** True when isolated instances get shared-memory segments. */
export const SHARED_MEMORY = loadShmBinding() !== undefined;

if (!SHARED_MEMORY) {
  console.warn(
    `isolated shared-memory fault rows skipped: the shared-memory addon is unavailable (${shmBindingUnavailableReason() ?? 'unknown reason'}); isolated mode copies frames over its pipe`,
  );
}
