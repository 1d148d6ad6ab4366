// Frame-accurate presentation: durations become whole display frames, every change of the screen happens inside a
// requestAnimationFrame callback, and what was actually shown is measured from the callbacks' timestamps (the
// vsync-aligned frame times), not from timers, which drift by several milliseconds.

export interface Refresh {
  hz: number;
  frameMs: number;
}

const nextFrame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));

/**
 * The display's refresh rate: the median interval between `frames` consecutive animation frames (the median, so
 * that one dropped frame while the page settles does not halve the estimate).
 */
export async function measureRefresh(frames = 60): Promise<Refresh> {
  let last = await nextFrame();
  const deltas: number[] = [];
  while (deltas.length < frames) {
    const now = await nextFrame();
    deltas.push(now - last);
    last = now;
  }
  deltas.sort((a, b) => a - b);
  const frameMs = deltas[Math.floor(deltas.length / 2)];
  return { hz: 1000 / frameMs, frameMs };
}

/** A duration in whole frames (at least one for a non-zero duration: a 5 ms stimulus is shown for one frame). */
export function framesFor(ms: number, refresh: Refresh): number {
  if (ms <= 0) return 0;
  return Math.max(1, Math.round(ms / refresh.frameMs));
}

export interface Step {
  /** Shows this step's content; called inside the animation frame in which it starts. */
  show(): void;
  frames: number;
}

export interface StepTiming {
  /** Timestamp of the animation frame in which the step was put on screen. */
  onset: number;
  /** Timestamp of the frame in which the next step replaced it. */
  offset: number;
  /** Frames it was on screen, measured: (offset - onset) / frame interval, rounded. */
  frames: number;
  /** Animation-frame callbacks while it was on screen (differs from `frames` when the browser dropped frames). */
  callbacks: number;
}

/**
 * Runs `steps` back to back, one after another on frame boundaries, then calls `after.show()` in the frame that ends
 * the last step. A step ends in the first frame whose timestamp is at least (frames - 1/2) intervals after its onset:
 * time-based rather than a count of callbacks, so a dropped frame lengthens a step by one frame at most instead of
 * shifting everything after it.
 */
export function presentSteps(steps: Step[], after: { show(): void }, refresh: Refresh): Promise<{ steps: StepTiming[]; end: number }> {
  return new Promise((resolve) => {
    const timings: StepTiming[] = [];
    let current = -1;
    let onset = 0;
    let callbacks = 0;
    // Puts the next step with frames on screen at `now`; steps of zero frames are passed over (recorded as empty).
    const advance = (now: number) => {
      for (current++; current < steps.length && steps[current].frames === 0; current++) {
        timings.push({ onset: now, offset: now, frames: 0, callbacks: 0 });
      }
      onset = now;
      callbacks = 1;
      if (current >= steps.length) {
        after.show();
        resolve({ steps: timings, end: now });
        return false;
      }
      steps[current].show();
      return true;
    };
    const tick = (now: number) => {
      if (current < 0 || now - onset >= (steps[current].frames - 0.5) * refresh.frameMs) {
        if (current >= 0) timings.push({ onset, offset: now, frames: Math.round((now - onset) / refresh.frameMs), callbacks });
        if (!advance(now)) return;
      } else {
        callbacks++;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}
