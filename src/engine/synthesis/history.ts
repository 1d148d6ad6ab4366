/** One recorded step of a synthesis: plain numbers, serialisable as JSON. */
export interface HistoryEntry {
  /** Steps completed when this entry was recorded (1 = after the first step). */
  iteration: number;
  /** Loss at the iterate the step started from (what the gradient was taken of). */
  loss: number;
  gradientNorm: number;
  stepSize: number;
}
